"""The driver's progress.json writes are throttled: at most one per ``record_every_s`` while a
stage runs, plus its first and last, and the last one holds the final counts."""

from __future__ import annotations

from curation.engine.progress import StageProgress
from curation.run import progress as run_progress
from curation.run.layout import RunLayout


class _Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_thousand_completions_in_three_seconds_make_four_writes(tmp_path):
    layout = RunLayout(tmp_path / "run")
    clock = _Clock()
    p = StageProgress("url_dedup:apply", 1000, enabled=False, layout=layout, clock=clock)
    assert p.records == 1 and run_progress.read(layout)["stages"]["url_dedup:apply"]["done"] == 0
    for i in range(1000):
        clock.t += 0.003  # 1,000 shards over 3 simulated seconds
        p.advance(1, docs=7)
    assert p.records == 1 + 2  # after 1 s and 2 s of the 3 (the third second ends at the last shard)
    mid = run_progress.read(layout)["stages"]["url_dedup:apply"]
    assert 600 <= mid["done"] < 1000 and not mid["finished"]
    p.close()
    assert p.records == 4
    final = run_progress.read(layout)["stages"]["url_dedup:apply"]
    assert final["done"] == 1000 and final["docs"] == 7000 and final["finished"]


def test_without_throttle_every_completion_is_written(tmp_path):
    layout = RunLayout(tmp_path / "run")
    clock = _Clock()
    p = StageProgress("extract", 5, enabled=False, layout=layout, record_every_s=0.0, clock=clock)
    for _ in range(5):
        p.advance(1)
    assert p.records == 6
