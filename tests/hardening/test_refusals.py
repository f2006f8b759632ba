"""What `curate run` refuses up front, and a full disk: one line, a non-zero exit, no traceback,
nothing written outside --output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CURATE = [sys.executable, "-m", "curation", "run"]


def _run(tmp_path: Path, pipeline_text: str, inputs: list[str], out: Path) -> subprocess.CompletedProcess:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(pipeline_text)
    return subprocess.run(CURATE + [str(pipeline), "--input", *inputs, "--output", str(out), "--workers", "1"],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "''", "sub/dir"])
def test_a_stage_name_that_would_leave_the_run_folder_is_refused_before_any_work(tmp_path, sample_dir, name):
    box = tmp_path / "box"
    box.mkdir()
    out = box / "a" / "run"
    r = _run(tmp_path, f"stages:\n  - op: extract\n  - op: url_dedup\n    name: {name}\n",
             [str(sample_dir / "warc")], out)
    assert r.returncode == 2 and "stages[1].name" in r.stderr and "plain identifier" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(box.rglob("*")) == []  # nothing written, inside the output or beside it
    assert not Path("/tmp/absolute").exists()


def test_an_unknown_compression_is_a_field_error_before_ray_starts(tmp_path, sample_dir):
    out = tmp_path / "run"
    r = _run(tmp_path, "output:\n  compression: nonsense\nstages:\n  - op: extract\n", [str(sample_dir / "warc")], out)
    assert r.returncode == 2 and "field 'output.compression'" in r.stderr and "nonsense" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB tmpfs, filled: needs root (CI runs as root); skipped elsewhere."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (not root)")
    try:
        with open(mnt / "filler", "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_disk_full_at_start_is_one_line(tmp_path, sample_dir, full_disk):
    r = _run(tmp_path, "stages:\n  - op: extract\n", [str(sample_dir / "warc")], full_disk / "run")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "No space left on device" in r.stderr and str(full_disk / "run") in r.stderr
