"""Fixtures for the service tests (helpers in svc_helpers.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # svc_helpers, importable by the test modules too

from svc_helpers import PIPELINE, ROOT, RayHead, chromium_binary


@pytest.fixture(scope="module")
def ray_head():
    head = RayHead()
    try:
        head.wait_ready()
        yield head
    finally:
        head.stop()


@pytest.fixture(scope="module")
def service_run(tmp_path_factory, ray_local):
    """A finished run of tests/service/pipeline.yaml over the bundled WARCs (real engine, real data)."""
    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline

    out = tmp_path_factory.mktemp("svc") / "run"
    run_pipeline(load_pipeline(PIPELINE), [str(ROOT / "sample" / "warc")], str(out),
                 RunOptions(workers=2, progress=False))
    return out


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). Tries to install it when
    missing and running as root; skips only if that is impossible."""
    path = chromium_binary()
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=600)
        path = chromium_binary()
    if path is None:
        pytest.skip("chromium is not installed and cannot be installed here (apt-get install -y chromium)")
    return path
