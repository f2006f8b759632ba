"""What every reader shares: the file part it reads, the rows it yields (a document or a rejected
row naming the file), opening a file safely on any filesystem, and the id key of a file."""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone

from curation import schema
from curation.ids import stable_id
from curation.io import fs as fsx
from curation.io.gz import open_gzip

READ_STAGE = "read"


@dataclass(frozen=True)
class FilePart:
    path: str
    kind: str
    root: str  # the input path it was found under; urls of bare HTML files are relative to it
    row_groups: tuple[int, ...] | None = None  # Parquet only: which row groups
    #: run_stage only: keep just the rows whose ``stage`` column is one of these (rows a later
    #: stage of a fused group rejected: they are documents the named stage kept)
    stages: tuple[str, ...] | None = None


def display_path(path: str) -> str:
    """``path`` as valid UTF-8 text: bytes of a file name that are not UTF-8 (which Python keeps
    as lone surrogates) are shown as ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def text_or_none(value) -> str | None:
    """A string that Arrow can store (valid Unicode), else None."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return None


def reject_row(part: FilePart, reason: str, detail: str, url: str | None = None, key=None) -> dict:
    path = display_path(part.path)
    return {
        schema.ID: stable_id("reject", part.path, str(key), reason),
        schema.URL: text_or_none(url),
        schema.SOURCE: path,
        schema.STAGE: READ_STAGE,
        schema.REASON: reason,
        schema.DETAIL: display_path(f"{path}: {detail}"),
    }


def doc(doc_id, url, fetch_time, source, html=None, text=None, metadata: dict | None = None) -> dict:
    row = {
        schema.ID: doc_id,
        schema.URL: url,
        schema.FETCH_TIME: fetch_time,
        schema.SOURCE: source,
        schema.HTML: html,
        schema.TEXT: text,
    }
    if metadata:
        row.update(metadata)
    return row


def parse_time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).replace(microsecond=0)


def id_key(part: FilePart) -> str:
    """What a document id is made from: the file's path relative to its input root (so
    ``2023/part-0.jsonl`` and ``2024/part-0.jsonl`` differ), the same on a resumed run."""
    if fsx.is_uri(part.path) and part.path.startswith(part.root.rstrip("/") + "/"):
        return part.path[len(part.root.rstrip("/")) + 1:]
    try:
        return os.path.relpath(part.path, part.root)
    except ValueError:
        return part.path


# -- opening files ----------------------------------------------------------------------------


class NotAFile(OSError):
    """A path that is not a regular file (a FIFO, a device, a socket): never read."""


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _open_local(path: str):
    """Open a local regular file without blocking: a FIFO opened for reading waits for a writer
    (forever), a device (``/dev/zero``) never ends, so the type is checked on the open descriptor."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(f"{_file_type(mode)}, not a regular file: only regular files are read")
        if hasattr(os, "O_NONBLOCK"):
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def open_part(path: str):
    """A binary file object for a local path or URI, decompressed when the name ends in .gz (a cut
    gzip stream ends early instead of raising: :func:`curation.io.gz.was_cut` tells)."""
    gz = path.lower().endswith(".gz")
    raw = _open_local(path) if not fsx.is_uri(path) else io.BufferedReader(fsx.open_binary(path), 1 << 20)
    return open_gzip(raw) if gz else raw


def not_a_file(path: str) -> str | None:
    """Why a local ``path`` is not read (a FIFO, a device, a socket), or None for a regular file
    (and for one that cannot be examined: opening it gives the OS error)."""
    if fsx.is_uri(path):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else f"{_file_type(mode)}, not a regular file: only regular files are read"


def file_size(path: str) -> int:
    """Size on disk, 0 for a file that cannot be examined (a dangling symlink, a symlink loop):
    it is still planned, and reading it gives an ``unreadable_file`` row."""
    try:
        return fsx.size(path)
    except OSError:
        return 0


def error_reason(e: BaseException) -> str:
    """The reason of a read that failed with ``e``: a cut stream, a path that is not a file, or
    any other unreadable file."""
    if isinstance(e, NotAFile):
        return "not_a_file"
    return "truncated_file" if isinstance(e, EOFError) else "unreadable_file"
