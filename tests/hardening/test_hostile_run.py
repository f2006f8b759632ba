"""One `curate run` over the hostile corpus mixed with the sample: exit 0 without a traceback,
every stage adds up, and the sample's documents come out exactly as in a run on the sample alone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
import yaml

from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from tests.hardening.conftest import EXPECTED, MAX_RECORD_BYTES

#: A short pipeline of real stages - per-document maps and a global one - so the test stays quick.
PIPELINE = {
    "name": "hardening",
    "input": {"shard_max_bytes": 1_500_000, "batch_docs": 64, "max_record_bytes": MAX_RECORD_BYTES},
    "stages": [{"op": "extract", "engine": "resiliparse"}, {"op": "url_filter"}, {"op": "url_dedup"},
               {"op": "language"}, {"op": "heuristics"}],
}
STAGES = ["read", "extract", "url_filter", "url_dedup", "language", "heuristics"]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory, hostile_dir, sample_dir):
    tmp = tmp_path_factory.mktemp("mixed")
    pipeline = tmp / "hardening.yaml"
    pipeline.write_text(yaml.safe_dump(PIPELINE))
    out = tmp / "run"
    r = subprocess.run([sys.executable, "-m", "curation", "run", str(pipeline), "--input", str(sample_dir),
                        str(hostile_dir), "--output", str(out), "--workers", "2", "--quiet"],
                       capture_output=True, text=True, timeout=900)
    return r, out


@pytest.fixture(scope="module")
def sample_run(ray_local, tmp_path_factory, sample_dir):
    out = tmp_path_factory.mktemp("sample-only") / "run"
    run_pipeline(parse_pipeline(PIPELINE), [str(sample_dir)], str(out), RunOptions(workers=2, progress=False))
    return out


def _rows(folder: Path, ids: set[str] | None = None) -> list[dict]:
    files = sorted(str(p) for p in folder.glob("part-*.parquet"))
    if not files:
        return []
    rows = ds.dataset(files, format="parquet").to_table().to_pylist()
    rows = [r for r in rows if ids is None or r["id"] in ids]
    return sorted(rows, key=lambda r: (r["id"], r.get("stage") or "", r.get("reason") or ""))


def test_the_run_exits_0_without_a_traceback_and_quiet_prints_nothing(mixed_run):
    r, out = mixed_run
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stdout == "" and r.stderr == "", (r.stdout, r.stderr)  # --quiet: nothing but errors
    log = (out / "logs" / "run.log").read_text()
    assert "Started a local Ray instance" in log


def test_every_stage_adds_up(mixed_run):
    r, out = mixed_run
    st = json.loads(subprocess.run([sys.executable, "-m", "curation", "status", str(out), "--json"],
                                   capture_output=True, text=True, check=True).stdout)["stages"]
    assert list(st) == STAGES
    for name, s in st.items():
        assert s["in"] == s["kept"] + s["rejected"], name
        assert sum(s["reasons"].values()) == s["rejected"], name
    for before, after in zip(STAGES, STAGES[1:]):
        assert st[before]["kept"] == st[after]["in"], (before, after)
    # the read stage rejected exactly what the hostile files hold (the sample reads cleanly)
    assert st["read"]["reasons"] == dict(Counter(r for reasons in EXPECTED.values() for r in reasons))
    con = duckdb.connect()
    per_shard = con.execute(
        "SELECT stage, shard, docs_in, docs_kept, docs_rejected FROM read_parquet(?)",
        [str(out / "stats" / "*" / "*.parquet")]).fetchall()
    assert all(i == k + rj for _, _, i, k, rj in per_shard)
    n_rejected_rows = con.execute("SELECT count(*) FROM read_parquet(?)",
                                  [str(out / "rejected" / "*" / "*.parquet")]).fetchone()[0]
    assert n_rejected_rows == sum(s["rejected"] for s in st.values())


def test_the_samples_documents_come_out_as_in_a_run_on_the_sample_alone(mixed_run, sample_run):
    r, out = mixed_run
    assert r.returncode == 0
    kept_dirs = sorted(p.name for p in sample_run.iterdir() if p.name[:2].isdigit())
    ids = {row["id"] for d in kept_dirs for row in _rows(sample_run / d)}
    ids |= {row["id"] for stage in STAGES for row in _rows(sample_run / "rejected" / stage)}
    assert len(ids) == 628  # every document of the sample
    assert kept_dirs == sorted(p.name for p in out.iterdir() if p.name[:2].isdigit())
    for d in kept_dirs:
        expected = _rows(sample_run / d)
        assert expected and _rows(out / d, ids) == expected, d
    for stage in STAGES:
        assert _rows(out / "rejected" / stage, ids) == _rows(sample_run / "rejected" / stage), stage
