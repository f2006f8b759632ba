"""Connected components of the LSH candidate graph, distributed: Large-Star / Small-Star.

Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii, "Connected Components in MapReduce and
Beyond" (SoCC 2014). Every step is a group-by on one endpoint of each edge, so each step runs per
key partition with the rows hash-partitioned by node (the engine's ``GlobalOperator.iterate``
rounds); no step needs all edges in one process. Alternating the two steps converges to a *star
forest* (every component: its minimum node linked to each other member) in O(log^2 n) rounds; on
LSH graphs (mostly small, dense clusters) it is usually done in 2 to 4 rounds.

A node is a document: ``n`` (its 64-bit id), ``r`` (a uint32 rank, lower is better: derived from a
quality score when there is one, else 0) and ``s`` (its shard). Nodes are ordered by ``(r, n)``,
so the minimum of a component, its *root*, is the document to keep: best score, then smallest id.

Edge tables have columns ``key`` (uint64 = fmix64 of the endpoint the row is grouped by), ``u``,
``ur``, ``us`` (that endpoint) and ``v``, ``vr``, ``vs`` (the other endpoint).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.hashing import U64, fmix64

EDGE_SCHEMA = pa.schema(
    [
        ("key", pa.uint64()),
        ("u", pa.uint64()), ("ur", pa.uint32()), ("us", pa.int32()),
        ("v", pa.uint64()), ("vr", pa.uint32()), ("vs", pa.int32()),
    ]
)
NODE_SALT = U64(0x5851F42D4C957F2D)


def node_key(n: np.ndarray) -> np.ndarray:
    return fmix64(np.asarray(n, dtype=U64) ^ NODE_SALT)


def _lt(ar, an, br, bn) -> np.ndarray:
    return (ar < br) | ((ar == br) & (an < bn))


def _cols(t: pa.Table, names) -> list[np.ndarray]:
    return [t.column(c).to_numpy() for c in names]


def _edges(u, ur, us, v, vr, vs) -> pa.Table:
    return pa.table(
        {
            "key": pa.array(node_key(u), pa.uint64()),
            "u": pa.array(u, pa.uint64()), "ur": pa.array(ur, pa.uint32()), "us": pa.array(us, pa.int32()),
            "v": pa.array(v, pa.uint64()), "vr": pa.array(vr, pa.uint32()), "vs": pa.array(vs, pa.int32()),
        },
        schema=EDGE_SCHEMA,
    )


def _both_ways(u, ur, us, v, vr, vs) -> pa.Table:
    return _edges(np.concatenate([u, v]), np.concatenate([ur, vr]), np.concatenate([us, vs]),
                  np.concatenate([v, u]), np.concatenate([vr, ur]), np.concatenate([vs, us]))


def empty_edges() -> pa.Table:
    return EDGE_SCHEMA.empty_table()


def bucket_edges(rows: pa.Table) -> pa.Table:
    """LSH bucket rows (``key`` = bucket, ``n``, ``r``, ``_shard``) to edges: each member of a
    bucket is linked to the bucket's minimum node. Both directions, grouped by ``u``."""
    if rows.num_rows < 2:
        return empty_edges()
    key, n, r, s = _cols(rows, ["key", "n", "r", "_shard"])
    r = r.astype(np.uint32)
    order = np.lexsort((n, r, key))
    key, n, r, s = key[order], n[order], r[order], s[order]
    # the same document twice in a bucket (it cannot be, ids are unique; be safe) counts once
    dup = np.r_[False, (key[1:] == key[:-1]) & (n[1:] == n[:-1])]
    key, n, r, s = key[~dup], n[~dup], r[~dup], s[~dup]
    first = np.r_[True, key[1:] != key[:-1]]
    head = np.maximum.accumulate(np.where(first, np.arange(len(key)), 0))
    m = ~first
    if not m.any():
        return empty_edges()
    h = head[m]
    return _both_ways(n[m], r[m], s[m], n[h], r[h], s[h])


def _grouped(edges: pa.Table):
    """Edges deduplicated and sorted by (u, then v in node order), without self-loops."""
    u, ur, us, v, vr, vs = _cols(edges, ["u", "ur", "us", "v", "vr", "vs"])
    keep = u != v
    u, ur, us, v, vr, vs = (x[keep] for x in (u, ur, us, v, vr, vs))
    order = np.lexsort((v, vr, u))
    u, ur, us, v, vr, vs = (x[order] for x in (u, ur, us, v, vr, vs))
    dup = np.zeros(len(u), dtype=bool)
    dup[1:] = (u[1:] == u[:-1]) & (v[1:] == v[:-1])
    u, ur, us, v, vr, vs = (x[~dup] for x in (u, ur, us, v, vr, vs))
    first = np.r_[True, u[1:] != u[:-1]] if len(u) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    return u, ur, us, v, vr, vs, starts, group


def large_star(edges: pa.Table) -> tuple[pa.Table, bool]:
    """Per node u with neighbours N(u) (both directions present): m = min(N(u) + u); link every
    neighbour larger than u to m. Returns the new edges grouped by their larger endpoint (ready
    for :func:`small_star`) and whether this partition is already a star forest (then the output
    is exactly the leaf -> root links)."""
    if edges.num_rows == 0:
        return empty_edges(), True
    u, ur, us, v, vr, vs, starts, group = _grouped(edges)
    if len(u) == 0:
        return empty_edges(), True
    # the minimum neighbour of each u is its group's first row
    mn, mr, ms = v[starts][group], vr[starts][group], vs[starts][group]
    u_is_min = ~_lt(mr, mn, ur, u)
    m_n, m_r, m_s = np.where(u_is_min, u, mn), np.where(u_is_min, ur, mr), np.where(u_is_min, us, ms)
    larger = _lt(ur, u, vr, v)
    smaller = ~larger
    n_small = np.add.reduceat(smaller.astype(np.int64), starts)
    n_large = np.add.reduceat(larger.astype(np.int64), starts)
    star = bool(np.all((n_small <= 1) & ~((n_small > 0) & (n_large > 0))))
    sel = larger
    out = _edges(v[sel], vr[sel], vs[sel], m_n[sel], m_r[sel], m_s[sel])
    return out, star


def small_star(edges: pa.Table) -> pa.Table:
    """Per node u with its smaller neighbours N(u): m = min(N(u)); link u and every member of N(u)
    to m. Returns the new edges in both directions (ready for :func:`large_star`)."""
    if edges.num_rows == 0:
        return empty_edges()
    u, ur, us, v, vr, vs, starts, group = _grouped(edges)
    if len(u) == 0:
        return empty_edges()
    mn, mr, ms = v[starts][group], vr[starts][group], vs[starts][group]
    # every neighbour v != m, linked to m
    other = v != mn
    a = (v[other], vr[other], vs[other], mn[other], mr[other], ms[other])
    # u itself, linked to m (once per u)
    b = (u[starts], ur[starts], us[starts], mn[starts], mr[starts], ms[starts])
    cat = [np.concatenate([x, y]) for x, y in zip(a, b)]
    return _both_ways(*cat)
