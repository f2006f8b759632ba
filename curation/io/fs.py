"""Any filesystem by URI: local paths, ``file://``, ``s3://``, ``gs://``, ``hdfs://`` (pyarrow.fs), and
other fsspec protocols where pyarrow has no native filesystem.

``resolve(uri)`` gives a ``(pyarrow.fs.FileSystem, path)`` pair; the rest of this module are the few
operations the inputs and the run folder need, over that pair. Local paths stay plain absolute paths,
so a local run sees exactly the files, names and bytes it saw before filesystems were pluggable.

Credentials and endpoints come the standard way (so one command works against AWS, GCS, MinIO, Ceph
or any S3-compatible store): S3 reads ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``) and ``AWS_ENDPOINT_URL`` (or
``AWS_ENDPOINT_URL_S3``), else the AWS default chain (config files, instance metadata); GCS uses
the Google default credentials; HDFS the Hadoop configuration of the machine.
"""

from __future__ import annotations

import os
import posixpath
from functools import lru_cache
from urllib.parse import urlparse

import pyarrow.fs as pafs

#: URI schemes with a native pyarrow filesystem (the rest go through fsspec when it is installed).
NATIVE = ("s3", "gs", "gcs", "hdfs", "viewfs")


def is_uri(path: str) -> bool:
    """True for ``scheme://...`` (a Windows drive letter is not a scheme)."""
    p = urlparse(str(path))
    return len(p.scheme) > 1 and "://" in str(path)


def is_local(path: str) -> bool:
    return not is_uri(path) or urlparse(str(path)).scheme == "file"


#: environment variables that configure object-store access; the runner passes the driver's to
#: its Ray workers so that a run started with them works the same on every worker
STORAGE_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
               "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
               "GOOGLE_APPLICATION_CREDENTIALS")


def storage_env() -> dict[str, str]:
    return {k: os.environ[k] for k in STORAGE_ENV if os.environ.get(k)}


@lru_cache(maxsize=32)
def _filesystem(scheme: str, netloc: str) -> pafs.FileSystem:
    if scheme == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        kwargs = {}
        if endpoint:
            e = urlparse(endpoint)
            kwargs["endpoint_override"] = e.netloc or e.path
            kwargs["scheme"] = e.scheme or "https"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region"] = region
        return pafs.S3FileSystem(**kwargs)
    if scheme in ("gs", "gcs"):
        return pafs.GcsFileSystem()
    if scheme in ("hdfs", "viewfs"):
        return pafs.FileSystem.from_uri(f"{scheme}://{netloc}/")[0]
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec ships with ray[data]
        raise ValueError(f"no filesystem for {scheme}:// (pyarrow has none and fsspec is not installed)") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem(scheme)))


def resolve(uri: str | os.PathLike) -> tuple[pafs.FileSystem, str]:
    """``(filesystem, path)`` for a local path or URI; local paths come back absolute and resolved."""
    s = os.fspath(uri)
    if not is_uri(s):
        return pafs.LocalFileSystem(), os.path.realpath(s)
    p = urlparse(s)
    if p.scheme == "file":
        return pafs.LocalFileSystem(), os.path.realpath(p.path)
    if p.scheme in ("hdfs", "viewfs"):
        return _filesystem(p.scheme, p.netloc), p.path.rstrip("/") or "/"
    fs = _filesystem(p.scheme, p.netloc)
    if isinstance(fs, pafs.PyFileSystem):  # fsspec: its own path convention (memory:// paths start with /)
        return fs, fs.handler.fs._strip_protocol(s).rstrip("/")
    return fs, (p.netloc + p.path).rstrip("/")


def to_uri(fs: pafs.FileSystem, path: str) -> str:
    """The string a user would pass for ``path`` on ``fs`` (a plain path when local)."""
    if isinstance(fs, pafs.LocalFileSystem):
        return path
    scheme = {"s3": "s3", "gcs": "gs", "hdfs": "hdfs"}.get(fs.type_name)
    if scheme is None:  # fsspec
        protocol = getattr(getattr(fs, "handler", None), "fs", None)
        protocol = getattr(protocol, "protocol", "fsspec")
        scheme = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
    return f"{scheme}://{path.lstrip('/')}" if scheme != "hdfs" else f"hdfs://{path}"


def local(fs: pafs.FileSystem) -> bool:
    return isinstance(fs, pafs.LocalFileSystem)


def join(*parts: str) -> str:
    return posixpath.join(*parts)


def basename(path: str) -> str:
    return posixpath.basename(path)


def info(fs: pafs.FileSystem, path: str) -> pafs.FileInfo:
    return fs.get_file_info(path)


def exists(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def is_file(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.File


def is_dir(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.Directory


def listdir(fs: pafs.FileSystem, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
    """Entries under ``path`` sorted by path; nothing (not an error) when it does not exist."""
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=recursive))
    return sorted(infos, key=lambda i: i.path)


def files(fs: pafs.FileSystem, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
    return [i for i in listdir(fs, path, recursive) if i.type == pafs.FileType.File]


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as f:
        return f.read()


def makedirs(fs: pafs.FileSystem, path: str) -> None:
    """Create a folder on a local disk; object stores have no folders (a key prefix is enough)."""
    if local(fs):
        fs.create_dir(path, recursive=True)


def delete_tree(fs: pafs.FileSystem, path: str) -> None:
    if exists(fs, path):
        fs.delete_dir(path)


# -- inputs: a file given by local path or URI ------------------------------------------------------


def open_binary(uri: str):
    """A readable binary file object (a real local file for local paths)."""
    if not is_uri(uri):
        return open(uri, "rb")
    fs, path = resolve(uri)
    return fs.open_input_file(path)


#: sizes of remote files seen in a listing: planning a run over 100k objects needs no HEAD per object
_SIZES: dict[str, int] = {}


def remember_size(uri: str, n: int) -> None:
    _SIZES[uri] = n


def size(uri: str) -> int:
    if not is_uri(uri):
        return os.path.getsize(uri)
    if uri in _SIZES:
        return _SIZES[uri]
    fs, path = resolve(uri)
    return fs.get_file_info(path).size


def parquet_file(uri: str):
    import pyarrow.parquet as pq

    if not is_uri(uri):
        return pq.ParquetFile(uri)
    fs, path = resolve(uri)
    return pq.ParquetFile(path, filesystem=fs)
