"""Helpers for the filter tests: real text from the bundled sample and ../shared/data."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "sample"


def doc_table(texts, **columns) -> pa.Table:
    cols = {"id": pa.array([f"{i:016x}" for i in range(len(texts))]),
            "url": pa.array(columns.pop("url", [None] * len(texts)), pa.string()),
            "text": pa.array(texts, pa.large_string())}
    cols.update({k: pa.array(v) for k, v in columns.items()})
    return pa.table(cols)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]


@pytest.fixture(scope="session")
def udhr_sample() -> list[dict]:
    return jsonl(SAMPLE / "text" / "udhr_60.jsonl.gz")


@pytest.fixture(scope="session")
def ccnet_sample() -> list[str]:
    return [r["text"] for r in jsonl(SAMPLE / "text" / "ccnet_cc_en_head-0091.jsonl.gz")]


@pytest.fixture(scope="session")
def wikitext_articles(shared_data) -> list[str]:
    raw = gzip.open(shared_data / "wikipedia_reference/wikitext-2-raw/wiki.test.raw.gz", "rt",
                    encoding="utf-8").read().replace("\r", "")
    return [a for a in re.split(r"\n(?= = [^=])", raw) if a.strip()]


def global_phases(op, shards: list[pa.Table], partitions: int) -> list[pa.Table]:
    """A global operator's collect, combine and apply run by hand, as the engine runs them: collect
    per shard, combine per key partition (``key % partitions``), the decisions broadcast to every
    shard's apply. Returns what each shard kept."""
    from curation.operators.context import ShardContext

    rows = pa.concat_tables([op.collect(s, ShardContext()) for s in shards])
    keys = rows.column("key").to_numpy()
    decisions = pa.concat_tables([op.combine(rows.filter(pa.array(keys % partitions == i)))
                                  for i in range(partitions)])
    assert "_shard" not in decisions.column_names  # broadcast to every shard
    return [op.apply(s, decisions, ShardContext()).kept for s in shards]
