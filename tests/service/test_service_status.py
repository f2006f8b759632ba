"""Live progress: the runner's progress.json and what `curate status` makes of it."""

from __future__ import annotations

import json

import pytest

from svc_helpers import PIPELINE, ROOT


def test_finished_run_progress(service_run, capsys):
    from curation.cli import main
    from curation.status import run_status

    st = run_status(service_run)
    prog = st["progress"]
    assert prog["state"] == "finished"
    labels = list(prog["stages"])
    assert labels[0] == "read+extract"  # the fused map group, then the global stage's phases, in run order
    assert labels[1:] == ["url_dedup:collect", "url_dedup:combine", "url_dedup:apply"]
    first = prog["stages"]["read+extract"]
    assert first["done"] == first["total"] == st["shards"] and first["finished"]
    # documents entering the fused group, counted once (not once per fused stage)
    assert first["docs"] == st["stages"]["read"]["in"]
    assert first["docs_per_s"] > 0
    assert main(["status", str(service_run)]) == 0
    out = capsys.readouterr().out
    assert "progress: finished" in out and f"{st['shards']}/{st['shards']}" in out and "docs/s" in out


def test_interrupted_run_shows_shards_left_and_time_left(tmp_path, ray_local, capsys):
    """A run that stops part-way (an injected crash in one shard) shows done < total and an estimate."""
    from curation.cli import main
    from curation.config import load_pipeline
    from curation.engine.runner import RunError, RunOptions, run_pipeline
    from curation.status import run_status

    out = tmp_path / "run"
    cfg = load_pipeline(PIPELINE)
    with pytest.raises(RunError):
        run_pipeline(cfg, [str(ROOT / "sample" / "warc")], str(out),
                     RunOptions(workers=1, progress=False, fault="crash:extract:2"))
    st = run_status(out)
    prog = st["progress"]
    assert prog["state"] == "stopped"  # not finished, and no live driver holds the run's lock
    e = prog["stages"]["read+extract"]
    # shards go out largest first, so which ones committed before the crash depends on sizes:
    # progress must agree with what is on disk, and shard 2 must not be among them
    committed = sorted(p.name for p in (out / "01-extract").glob("part-*.parquet"))
    assert 1 <= len(committed) < st["shards"] and "part-00002.parquet" not in committed
    assert e["done"] == len(committed) and e["total"] == st["shards"] and not e["finished"]
    assert e["seconds_left"] is not None and e["seconds_left"] >= 0
    assert st["stages"]["extract"]["shards_done"] == len(committed)
    main(["status", str(out)])
    text = capsys.readouterr().out
    assert f"{len(committed)}/{st['shards']}" in text and "time left" in text and "progress: stopped" in text
    # the resumed run completes and the entry is replaced by the finished one, counting the resumed shards
    run_pipeline(cfg, [str(ROOT / "sample" / "warc")], str(out), RunOptions(workers=2, progress=False))
    e = run_status(out)["progress"]["stages"]["read+extract"]
    assert e["finished"] and e["resumed"] == len(committed) and e["done"] == e["total"]


def test_time_left_arithmetic(tmp_path):
    """Two fresh shards in 10 s, six to go, last update 4 s ago: 30 - 4 = 26 s left; 500 docs in 14 s."""
    from curation.run import lock
    from curation.run.layout import RunLayout
    from curation.status import live_progress

    held = lock.RunLock(RunLayout(tmp_path)).acquire()  # a live driver (this process) owns the run
    (tmp_path / "progress.json").write_text(json.dumps({"updated": 110.0, "current": "read+extract", "stages": {
        "read+extract": {"done": 3, "total": 9, "resumed": 1, "docs": 500, "started": 100.0, "updated": 110.0,
                         "finished": False}}}))
    run = {"shards": [f"part-{i:05d}" for i in range(9)], "groups": [{"name": "01-extract"}]}
    p = live_progress(tmp_path, run, now=114.0)
    e = p["stages"]["read+extract"]
    assert e["seconds_left"] == pytest.approx(26.0)
    assert e["docs_per_s"] == pytest.approx(500 / 14, abs=0.1)
    assert p["state"] == "running" and p["last_update_s_ago"] == pytest.approx(4.0)
    held.release()
    assert live_progress(tmp_path, run, now=114.0)["state"] == "stopped"  # the driver is gone
