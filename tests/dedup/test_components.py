"""Distributed connected components (Large-Star / Small-Star) against a one-process union-find,
run exactly as the engine runs it: every round split into key partitions, flags combined."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from curation.operators.base import ready
from curation.operators.context import ShardContext
from curation.operators.minhash_dedup import MinhashDedup, score_rank


def _union_find(nodes, buckets, better):
    parent = {x: x for x in nodes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for members in buckets.values():
        for x in members[1:]:
            a, b = find(members[0]), find(x)
            if a != b:
                parent[max(a, b, key=better)] = min(a, b, key=better)
    return {x: find(x) for x in nodes}


def _partitioned(op, rows: pa.Table, parts: int):
    """The engine's rounds: iterate per partition of ``key``, until no partition changes."""
    for r in range(op.max_rounds):
        outs, changed = [], False
        keys = rows.column("key").to_numpy()
        for p in range(parts):
            out, ch = op.iterate(rows.filter(pa.array(keys % np.uint64(parts) == p)), r)
            outs.append(out)
            changed |= ch
        rows = pa.concat_tables(outs)
        if not changed:
            break
    keys = rows.column("key").to_numpy()
    return pa.concat_tables([op.combine(rows.filter(pa.array(keys % np.uint64(parts) == p)))
                             for p in range(parts)]), r


@pytest.mark.parametrize("seed", range(12))
def test_components_match_union_find(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 400)
    ids = [rng.getrandbits(64) for _ in range(n)]
    scores = {i: rng.choice([None, 0.1, 0.5, 0.9]) for i in ids} if seed % 2 else {i: None for i in ids}
    rank = dict(zip(ids, score_rank(pa.array([scores[i] for i in ids], pa.float32()), n).tolist()))
    if seed % 2 == 0:
        rank = {i: 0 for i in ids}
    shard = {i: rng.randrange(5) for i in ids}
    buckets, rows = {}, []
    # chains and stars make long paths (many rounds); random small buckets make real LSH graphs
    chain = rng.sample(ids, min(n, 60))
    for a, b in zip(chain, chain[1:]):
        buckets[len(buckets)] = [a, b]
    for _ in range(rng.randint(0, 300)):
        buckets[len(buckets)] = rng.sample(ids, min(n, rng.randint(1, 4)))
    for k, members in buckets.items():
        for m in members:
            rows.append(((k * 0x9E3779B97F4A7C15) % 2**64, m))
    table = pa.table({
        "key": pa.array([k for k, _ in rows], pa.uint64()),
        "n": pa.array([m for _, m in rows], pa.uint64()),
        "r": pa.array([rank[m] for _, m in rows], pa.uint32()),
        "_shard": pa.array([shard[m] for _, m in rows], pa.int32()),
    })
    op = MinhashDedup()
    decisions, rounds = _partitioned(op, table, parts=rng.choice([1, 3, 7]))
    expect = _union_find(ids, buckets, better=lambda x: (rank[x], x))
    got = {int(i, 16): (int(s, 16), sh) for i, s, sh in zip(decisions.column("id").to_pylist(),
                                                           decisions.column("survivor").to_pylist(),
                                                           decisions.column("_shard").to_pylist())}
    assert len(got) == decisions.num_rows
    for x in ids:
        if expect[x] == x:
            assert x not in got
        else:
            assert got[x] == (expect[x], shard[x])
    assert rounds < op.max_rounds


def test_no_candidates_no_decisions():
    op = MinhashDedup()
    empty = pa.table({"key": pa.array([], pa.uint64()), "n": pa.array([], pa.uint64()),
                      "r": pa.array([], pa.uint32()), "_shard": pa.array([], pa.int32())})
    decisions, rounds = _partitioned(op, empty, 4)
    assert decisions.num_rows == 0 and rounds == 1


def test_survivor_is_best_quality_then_smallest_id(sample_dir):
    import gzip
    import json

    text = json.loads(next(iter(gzip.open(sample_dir / "text" / "udhr_60.jsonl.gz"))))["text"]
    table = pa.table({
        "id": pa.array(["0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004"]),
        "text": pa.array([text, text + " extra", text, "something else entirely " * 20], pa.large_string()),
        "quality": pa.array([0.2, 0.9, None, 0.99], pa.float32()),
    })
    op = ready(MinhashDedup())  # the engine's job in a run
    rows = op.collect(table, ShardContext())
    rows = rows.append_column("_shard", pa.array([0] * rows.num_rows, pa.int32()))
    decisions, _ = _partitioned(op, rows, 3)
    got = dict(zip(decisions.column("id").to_pylist(), decisions.column("survivor").to_pylist()))
    assert got == {"0000000000000001": "0000000000000002", "0000000000000003": "0000000000000002"}
    res = op.apply(table, decisions.drop_columns(["_shard"]), ShardContext())
    assert res.kept.column("id").to_pylist() == ["0000000000000002", "0000000000000004"]
    assert res.rejected.column("dup_survivor").to_pylist() == ["0000000000000002"] * 2
    no_score = ready(MinhashDedup({"score_column": None}))
    rows = no_score.collect(table, ShardContext()).append_column("_shard", pa.array([0] * rows.num_rows, pa.int32()))
    decisions, _ = _partitioned(no_score, rows, 3)
    assert set(decisions.column("survivor").to_pylist()) == {"0000000000000001"}
