"""``shuffle: {partitions: N}``: the partition count of global stages changes no document kept or
rejected, and is validated and recorded in run.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.config import ConfigError, parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline

PIPELINE = {
    "name": "shuffle-test",
    "input": {"shard_max_bytes": 150_000, "batch_docs": 16},
    "stages": [{"op": "extract", "engine": "resiliparse"}, {"op": "url_dedup"}, {"op": "minhash_dedup"},
               {"op": "line_dedup", "group_docs": 1000, "max_occurrences": 1}],
}


def _run(sample_dir: Path, out: Path, partitions: int | None) -> Path:
    pipe = dict(PIPELINE, shuffle={"partitions": partitions} if partitions else {})
    run_pipeline(parse_pipeline(pipe), [str(sample_dir / "warc"), str(sample_dir / "html")], str(out),
                 RunOptions(workers=2, progress=False))
    return out


def _data_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))
            if p.relative_to(root).parts[0] != "stats"}


def test_partition_count_changes_no_kept_or_rejected_document(ray_local, sample_dir, tmp_path):
    few = _run(sample_dir, tmp_path / "p4", 4)
    many = _run(sample_dir, tmp_path / "p61", 61)
    a, b = _data_files(few), _data_files(many)
    assert [k for k in a if k.startswith("rejected/")], "the dedup stages rejected nothing: a test that cannot fail"
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert json.loads((many / "run.json").read_text())["config"]["shuffle"] == {"partitions": 61}
    assert json.loads((few / "run.json").read_text())["config"]["shuffle"] == {"partitions": 4}


@pytest.mark.parametrize("value", [0, -3, "many", 2_000_000])
def test_a_bad_partition_count_names_the_field(value):
    with pytest.raises(ConfigError, match="shuffle.partitions"):
        parse_pipeline(dict(PIPELINE, shuffle={"partitions": value}))


def test_an_unknown_shuffle_key_is_refused():
    with pytest.raises(ConfigError, match="shuffle.parts"):
        parse_pipeline(dict(PIPELINE, shuffle={"parts": 8}))
