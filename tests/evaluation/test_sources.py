"""SOURCE resolution: a run folder is its mix, RUN@STAGE what that stage kept (fused groups too)."""

from __future__ import annotations

import pytest

from curation.evaluation import sources
from curation.evaluation.draw import ArmDocs


def test_run_folder_is_its_mix(eval_run):
    s = sources.resolve(str(eval_run))
    assert s.kind == "mix" and [p.name for p in s.parts] == ["part-00000.parquet"]
    assert "mix" in s.parts[0].path and s.run.uri == str(eval_run.resolve())


def test_stage_in_fused_group_adds_later_rejections(eval_run):
    # extract ran fused with domain: what extract kept = the group's output + what domain rejected
    s = sources.resolve(f"{eval_run}@extract")
    n_extract = len(ArmDocs(s))
    n_domain = len(ArmDocs(sources.resolve(f"{eval_run}@domain")))
    assert n_extract > n_domain > 0
    assert s.notes and "fused" in s.notes[0]
    assert len(ArmDocs(sources.resolve(f"{eval_run}@mix"))) == len(ArmDocs(sources.resolve(str(eval_run))))


def test_mix_pool_and_target(eval_run):
    pool = sources.mix_pool(eval_run)
    assert pool.stage == "domain"
    assert sources.run_mix_target(eval_run) == {"general": 0.5, "math": 0.3, "code": 0.2}


def test_bad_sources_are_clear(eval_run, tmp_path):
    with pytest.raises(sources.SourceError, match="no stage 'nope'"):
        sources.resolve(f"{eval_run}@nope")
    with pytest.raises(sources.SourceError, match="no such file"):
        sources.resolve(str(tmp_path / "missing.parquet"))
    with pytest.raises(sources.SourceError, match="no .parquet"):
        sources.resolve(str(tmp_path))


def test_default_suite_covers_the_domains():
    from curation.evaluation import suite

    ev = suite.load(None)
    assert {"prose", "news", "code", "math", "multilingual"} <= set(ev)
    assert all(len(t) >= 4 for t in ev.values())
