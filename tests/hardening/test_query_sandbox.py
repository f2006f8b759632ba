"""Issue 20: ``curate query`` runs user SQL sandboxed (no file reads or writes beyond the run's
views, no way to unset it), ``--unsafe`` opts out, and bad SQL is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A minimal run folder: run.json and one rejected part, enough for the views."""
    out = tmp_path / "run"
    (out / "rejected" / "read").mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"pipeline": "sandbox", "groups": []}))
    pq.write_table(pa.table({"id": ["a", "b"], "stage": ["read", "read"], "reason": ["empty", "bad_type"]}),
                   out / "rejected" / "read" / "part-00000.parquet")
    return out


def _curate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curation", *args], capture_output=True, text=True, timeout=120)


def test_the_views_still_work(run_dir, capsys):
    assert main(["query", str(run_dir), "SELECT count(*) AS n FROM rejected", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == 2


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_text('/etc/passwd')",
    "COPY (SELECT 1) TO '{out}'",
    "ATTACH '{out}' AS x",
    "SET enable_external_access = true",
])
def test_file_access_is_refused_in_one_line(run_dir, tmp_path, sql):
    target = tmp_path / "written.db"
    r = _curate("query", str(run_dir), sql.format(out=target))
    assert r.returncode == 2, r
    assert r.stderr.startswith("curate: error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "root:" not in r.stdout and not target.exists()


def test_unsafe_opts_out(run_dir, tmp_path):
    target = tmp_path / "out.csv"
    r = _curate("query", str(run_dir), f"COPY (SELECT reason FROM rejected) TO '{target}'", "--unsafe")
    assert r.returncode == 0, r.stderr
    assert target.read_text().split() == ["reason", "empty", "bad_type"]


def test_bad_sql_is_one_line(run_dir):
    r = _curate("query", str(run_dir), "SELECT * FROM no_such_table")
    assert r.returncode == 2
    assert r.stderr.startswith("curate: error: CatalogException") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
