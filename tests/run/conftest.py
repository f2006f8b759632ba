"""A real S3-protocol server on loopback for the run-folder tests: ``moto_server`` (from
``moto[server]``, the way s3fs's own suite does it: a subprocess on a free port, then the S3 API
over HTTP), with the standard AWS environment variables pointing at it. pyarrow's S3 filesystem
talks to it exactly as it would to AWS, MinIO or Ceph."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BUCKET = "curation-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_server() -> str | None:
    here = Path(sys.executable).parent / "moto_server"
    return str(here) if here.exists() else shutil.which("moto_server")


@pytest.fixture(scope="session")
def s3_server():
    """``{"endpoint": URL, "bucket": name}``; the AWS_* variables are set for the session."""
    exe = _moto_server()
    if exe is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]'; the test extra has it)")
    port = _free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.2)
        from pyarrow import fs as pafs

        pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1",
                          allow_bucket_creation=True).create_dir(BUCKET)
        yield {"endpoint": endpoint, "bucket": BUCKET}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        from curation.io import fs as fsx

        fsx._filesystem.cache_clear()


@pytest.fixture(scope="session")
def upload(s3_server):
    """``upload(local folder, "s3://bucket/prefix")``: copy a folder into the server."""
    from pyarrow import fs as pafs

    from curation.io import fs as fsx

    def copy(local: Path, uri: str) -> None:
        dst_fs, dst = fsx.resolve(uri)
        pafs.copy_files(str(local), dst, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=dst_fs)

    return copy
