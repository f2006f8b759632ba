"""url_dedup: URL normalization and the collect -> combine -> apply decisions."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from curation.operators.context import ShardContext
from curation import schema
from curation.operators.base import SHARD
from curation.operators.url_dedup import UrlDedup
from curation.text.urls import normalize_url

SAME = [
    ("http://Example.COM/a/b", "https://example.com/a/b/"),
    ("http://example.com:80/a", "https://www.example.com:443/a"),
    ("http://example.com/a#section-2", "http://example.com/a"),
    ("http://example.com/a?utm_source=x&id=3&utm_medium=y", "http://example.com/a?id=3"),
    ("http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2"),
    ("http://example.com/a?fbclid=abc&gclid=1&pk_campaign=z", "http://example.com/a"),
    ("<https://example.com/>", "http://example.com"),
    ("http://例え.jp/ページ", "http://例え.JP/ページ"),
]
DIFFERENT = [
    ("http://example.com/a", "http://example.com/b"),
    ("http://example.com/a?id=3", "http://example.com/a?id=4"),
    ("http://example.com:8080/a", "http://example.com/a"),
    ("http://example.com/A", "http://example.com/a"),  # paths are case sensitive
    ("http://a.example.com/", "http://b.example.com/"),
]


@pytest.mark.parametrize("a,b", SAME)
def test_same_url(a, b):
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_url(a, b):
    assert normalize_url(a) != normalize_url(b)


def test_missing_and_malformed():
    assert normalize_url(None) is None and normalize_url("") is None
    assert normalize_url("http://example.com:99999/x")  # bad port: kept as is, no crash


def _t(day):
    return None if day is None else datetime(2024, 1, day, tzinfo=timezone.utc)


def _docs(rows):
    return pa.table({
        schema.ID: pa.array([r[0] for r in rows], pa.string()),
        schema.URL: pa.array([r[1] for r in rows], pa.string()),
        schema.FETCH_TIME: pa.array([_t(r[2]) for r in rows], pa.timestamp("s", tz="UTC")),
        schema.TEXT: pa.array(["text"] * len(rows), pa.large_string()),
    })


def _run(shards: list[list[tuple]]):
    """collect per shard -> one combine (all keys) -> apply per shard, as the engine does."""
    op = UrlDedup()
    collected = []
    for i, rows in enumerate(shards):
        c = op.collect(_docs(rows), ShardContext(index=i))
        collected.append(c.append_column(SHARD, pa.array([i] * c.num_rows, pa.int32())))
    decisions = op.combine(pa.concat_tables(collected))
    out = []
    for i, rows in enumerate(shards):
        mine = decisions.filter(pa.compute.equal(decisions.column(SHARD), i))
        out.append(op.apply(_docs(rows), mine, ShardContext(index=i)))
    return out


def test_most_recent_fetch_survives_and_rejects_name_it():
    shard0 = [("00000000000000a1", "http://example.com/page?utm_source=news", 1),
              ("00000000000000a2", "http://example.com/other", 5)]
    shard1 = [("00000000000000b1", "https://www.example.com/page/", 9),   # latest: survives
              ("00000000000000b2", "http://example.com/page#top", None),   # unknown date: oldest
              ("00000000000000b3", None, None)]                            # no URL: kept
    r0, r1 = _run([shard0, shard1])
    assert r0.kept.column("id").to_pylist() == ["00000000000000a2"]
    assert r0.rejected.column("reason").to_pylist() == ["duplicate_url"]
    assert r0.rejected.column("detail").to_pylist() == ["survivor 00000000000000b1"]
    assert r1.kept.column("id").to_pylist() == ["00000000000000b1", "00000000000000b3"]
    assert r1.rejected.column("id").to_pylist() == ["00000000000000b2"]
    for r, n in ((r0, 2), (r1, 3)):
        assert r.kept.num_rows + r.rejected.num_rows == n


def test_ties_go_to_smallest_id_whatever_the_order():
    a = ("0000000000000002", "http://example.com/x", 3)
    b = ("0000000000000001", "http://EXAMPLE.com/x/", 3)
    for shards in ([[a, b]], [[b, a]], [[a], [b]], [[b], [a]]):
        kept = [i for r in _run(shards) for i in r.kept.column("id").to_pylist()]
        assert kept == ["0000000000000001"]
