"""The engine on a real local Ray: accounting, resume, worker death, determinism, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from curation.config import ConfigError, parse_pipeline
from curation.engine.runner import RunError, RunOptions, run_pipeline
from curation.status import run_status

PIPELINE = {
    "name": "engine-test",
    "input": {"shard_max_bytes": 150_000, "batch_docs": 16},
    "stages": [{"op": "extract", "engine": "resiliparse"}, {"op": "url_dedup"}],
}


@pytest.fixture(scope="module")
def inputs(sample_dir, tmp_path_factory) -> list[str]:
    """Real pages plus trouble: the dolma WARC again under another name (22 duplicate URLs),
    random bytes posing as HTML, and an empty file."""
    import random
    import shutil

    extra = tmp_path_factory.mktemp("extra")
    shutil.copy(sample_dir / "warc" / "dolma_sample-0000.warc.gz", extra / "dolma-refetch.warc.gz")
    rng = random.Random(1)
    (extra / "garbage.html").write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    (extra / "empty.html").write_bytes(b"")
    return [str(sample_dir / "warc"), str(sample_dir / "html" / "readability"), str(extra)]


def _run(inputs, out: Path, workers=2, fault=None, pipeline=PIPELINE):
    return run_pipeline(parse_pipeline(pipeline), inputs, str(out),
                        RunOptions(workers=workers, progress=False, fault=fault))


def _files(root: Path) -> dict[str, bytes]:
    """Every data file of a run (kept and rejected), byte for byte; stats hold timings, so only
    their counters are compared."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))
             if p.relative_to(root).parts[0] != "stats"}
    con = duckdb.connect()
    files["stats"] = con.execute(
        "SELECT stage, shard, docs_in, docs_kept, docs_rejected FROM read_parquet(?) ORDER BY ALL",
        [f"{root}/stats/*/*.parquet"]).fetchall()
    return files


@pytest.fixture(scope="module")
def reference_run(ray_local, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    _run(inputs, out)
    return out


def test_every_stage_and_shard_accounts_for_every_document(reference_run):
    con = duckdb.connect()
    rows = con.execute(
        "SELECT stage, shard, docs_in, docs_kept, docs_rejected FROM read_parquet(?)",
        [f"{reference_run}/stats/*/*.parquet"]).fetchall()
    run = json.loads((reference_run / "run.json").read_text())
    assert len(run["shards"]) >= 3
    assert {r[0] for r in rows} == {"read", "extract", "url_dedup"}
    assert len(rows) == 3 * len(run["shards"])
    for stage, shard, n_in, kept, rej in rows:
        assert n_in == kept + rej, (stage, shard)
        rej_file = reference_run / "rejected" / stage / f"{shard}.parquet"
        n_rej_rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(rej_file)]).fetchone()[0] if rej_file.exists() else 0
        assert n_rej_rows == rej, (stage, shard)
    # kept after a stage == in of the next, shard by shard
    by = {(s, sh): (i, k) for s, sh, i, k, _ in rows}
    for shard in run["shards"]:
        assert by[("read", shard)][1] == by[("extract", shard)][0]
        assert by[("extract", shard)][1] == by[("url_dedup", shard)][0]
    st = run_status(reference_run)["stages"]
    assert st["read"]["in"] == 67 + 11 + 22 + 2  # WARC responses, Readability pages, the copy, 2 bad files
    assert st["read"]["reasons"] == {"binary_content": 1, "empty": 1}
    assert st["url_dedup"]["reasons"]["duplicate_url"] >= 22
    for name, s in st.items():
        assert s["in"] == s["kept"] + s["rejected"] and sum(s["reasons"].values()) == s["rejected"], name
    final = con.execute("SELECT count(*) FROM read_parquet(?)", [f"{reference_run}/02-url_dedup/*.parquet"]).fetchone()[0]
    assert final == st["url_dedup"]["kept"]


def test_one_worker_and_two_workers_write_identical_bytes(ray_local, inputs, reference_run, tmp_path):
    _run(inputs, tmp_path / "one", workers=1)
    assert _files(tmp_path / "one") == _files(reference_run)


def test_crash_then_rerun_resumes_and_matches_uninterrupted(ray_local, inputs, reference_run, tmp_path):
    out = tmp_path / "crashy"
    with pytest.raises(RunError, match=r"extract.*part-00002.*injected failure"):
        _run(inputs, out, fault="crash:extract:2")
    committed = sorted(p.name for p in (out / "01-extract").glob("part-*.parquet"))
    assert "part-00002.parquet" not in committed and len(committed) >= 1
    # a stale temporary, as a worker killed mid-write leaves behind, is cleaned up by the re-run
    (out / "01-extract" / ".tmp-deadbeef-part-00000.parquet").write_bytes(b"half a file")
    before = {p: (out / "01-extract" / p).stat().st_mtime_ns for p in committed}
    _run(inputs, out)  # the same command again
    assert _files(out) == _files(reference_run)
    # committed shards were not recomputed
    assert all((out / "01-extract" / p).stat().st_mtime_ns == t for p, t in before.items())
    assert not (out / "_work").exists()


def test_a_killed_worker_is_retried_and_the_run_completes(ray_local, inputs, reference_run, tmp_path):
    out = tmp_path / "killed"
    _run(inputs, out, fault="kill:extract:1")
    assert _files(out) == _files(reference_run)


def test_global_stage_resumes_after_crash_in_apply(ray_local, inputs, reference_run, tmp_path):
    out = tmp_path / "crash-global"
    with pytest.raises(RunError, match="url_dedup"):
        _run(inputs, out, fault="crash:url_dedup:1")
    assert (out / "_work" / "url_dedup" / "decisions").exists()
    _run(inputs, out)
    assert _files(out) == _files(reference_run)


def test_rerun_with_another_config_into_the_same_folder_is_refused(ray_local, inputs, reference_run):
    other = dict(PIPELINE, stages=[{"op": "extract"}])
    with pytest.raises(RunError, match="different run"):
        _run(inputs, reference_run, pipeline=other)


def test_bad_pipeline_files_name_the_field():
    with pytest.raises(ConfigError, match=r"stages\[0\].*field 'engine'"):
        parse_pipeline({"stages": [{"op": "extract", "engine": "lynx"}]})
    with pytest.raises(ConfigError, match=r"stages\[0\].*field 'max_byte'.*Extra inputs"):
        parse_pipeline({"stages": [{"op": "extract", "max_byte": 3}]})
    with pytest.raises(ConfigError, match=r"stages\[1\]\.op: unknown operator 'frobnicate'"):
        parse_pipeline({"stages": [{"op": "extract"}, {"op": "frobnicate"}]})
    with pytest.raises(ConfigError, match="field 'input.batch_docs'"):
        parse_pipeline({"input": {"batch_docs": 0}, "stages": [{"op": "extract"}]})


def test_cli_run_status_and_query(tmp_path, sample_dir):
    """The real console entry point, end to end on a slice of the sample (its own local Ray)."""
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: cli\nstages:\n  - op: extract\n    engine: resiliparse\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "curation"]
    r = subprocess.run(cmd + ["run", str(pipeline), "--input", str(sample_dir / "warc"), "--output", str(out),
                              "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "read+extract" in r.stderr and "shards" in r.stderr  # progress bar
    st = json.loads(subprocess.run(cmd + ["status", str(out), "--json"], capture_output=True, text=True,
                                   check=True).stdout)
    ex = st["stages"]["extract"]
    assert ex["in"] == 67 and ex["in"] == ex["kept"] + ex["rejected"]
    q = subprocess.run(cmd + ["query", str(out), "SELECT count(*) AS n FROM extract", "--json"],
                       capture_output=True, text=True, check=True)
    assert json.loads(q.stdout) == [{"n": ex["kept"]}]
    bad = subprocess.run(cmd + ["run", str(pipeline), "--input", str(tmp_path / "missing"), "--output",
                                str(tmp_path / "o2")], capture_output=True, text=True)
    assert bad.returncode == 2 and "input not found" in bad.stderr and "Traceback" not in bad.stderr
