"""minhash_dedup: near-duplicate removal over the whole corpus (global, multi-round).

* collect (per shard): word 5-gram shingles of the normalized text (:mod:`curation.dedup.text`),
  a 112-value MinHash signature per document computed in one numpy pass over the batch
  (:mod:`curation.dedup.minhash`), cut into 14 bands of 8; one row per (document, band):
  ``key`` = the band's 64-bit bucket hash, ``n`` = the document id as uint64, ``r`` = its rank.
  The signatures themselves never leave the worker: 14 x 24 bytes per document are spilled.
* iterate round 0 (per bucket partition): each bucket with two or more documents links every member
  to the bucket's best member: the candidate edges.
* iterate rounds 1, 2, ... (per node partition): Large-Star / Small-Star connected components
  (:mod:`curation.dedup.components`) until every cluster is a star around its best member.
* combine: every non-root node becomes a decision routed to its shard: its cluster (named after its
  root) and the survivor (the root). apply: those documents are rejected, reason
  ``near_duplicate``, with ``dup_cluster`` and ``dup_survivor`` columns and both ids in ``detail``.

The survivor of a cluster is its best document: highest ``score_column`` when that column exists
(e.g. a quality score computed by an earlier stage), then the smallest id. Documents without any
token (empty text) have no signature and are kept (nothing to compare).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation import schema
from curation.dedup.components import bucket_edges, large_star, small_star
from curation.hashing import ids_to_u64, u64_to_ids
from curation.dedup.minhash import MinHasher
from curation.operators.base import KEY, SHARD, GlobalOperator, OpResult, Params
from curation.operators.context import ShardContext

WORST_RANK = np.uint32(0xFFFFFFFF)


class MinhashDedupParams(Params):
    # FineWeb (datatrove MinhashConfig): 5-gram shingles, 14 buckets x 8 hashes = 112 hashes,
    # P(candidate) = 1-(1-J^8)^14: 5% at J=0.5, 50% at 0.68, 92% at 0.8 (docs/dedup.md).
    bands: int = Field(14, ge=1, le=64)
    rows: int = Field(8, ge=1, le=64)
    ngram: int = Field(5, ge=1, le=32)
    seed: int = 1
    #: Column with a quality score (higher is better) used to choose the survivor when present.
    score_column: str | None = "quality"


def score_rank(scores: pa.ChunkedArray | pa.Array | None, n: int) -> np.ndarray:
    """uint32 ranks, lower is better: an order-preserving bit map of -score; missing/NaN worst."""
    if scores is None:
        return np.zeros(n, dtype=np.uint32)
    vals = pc.fill_null(scores.cast(pa.float32()), np.nan).to_numpy(zero_copy_only=False).astype(np.float32)
    neg = -vals
    neg = np.where(neg == 0, np.float32(0), neg)  # -0.0 and 0.0 rank the same
    bits = neg.view(np.uint32)
    rank = np.where(bits & np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)
    rank[np.isnan(vals)] = WORST_RANK
    return rank


class MinhashDedup(GlobalOperator):
    name = "minhash_dedup"
    Params = MinhashDedupParams
    #: Round 0 builds edges; then Large-Star/Small-Star pairs (O(log^2 n) worst case).
    max_rounds = 64

    def setup(self) -> None:
        p = self.params
        self.hasher = MinHasher(p.bands, p.rows, p.ngram, p.seed)

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        h = self.hasher
        sig, has = h.signatures(table.column(schema.TEXT))
        idx = np.flatnonzero(has)
        keys = h.band_keys(sig[idx])  # (docs x bands)
        col = self.params.score_column
        rank = score_rank(table.column(col) if col and col in table.column_names else None, table.num_rows)
        nodes = ids_to_u64(table.column(schema.ID))
        b = h.bands
        return pa.table(
            {
                KEY: pa.array(keys.reshape(-1), pa.uint64()),
                "n": pa.array(np.repeat(nodes[idx], b), pa.uint64()),
                "r": pa.array(np.repeat(rank[idx], b), pa.uint32()),
            }
        )

    def iterate(self, rows: pa.Table, round: int) -> tuple[pa.Table, bool]:
        if round == 0:
            return bucket_edges(rows), True
        if round % 2 == 1:
            out, star = large_star(rows)
            return out, not star
        return small_star(rows), True

    def combine(self, rows: pa.Table) -> pa.Table:
        out_schema = pa.schema([(schema.ID, pa.string()), (SHARD, pa.int32()),
                                ("cluster", pa.string()), ("survivor", pa.string())])
        if rows.num_rows == 0:
            return out_schema.empty_table()
        u = rows.column("u").to_numpy()
        order = np.argsort(u, kind="stable")
        u = u[order]
        first = np.r_[True, u[1:] != u[:-1]]
        sel = order[first]
        root = u64_to_ids(rows.column("v").to_numpy()[sel])
        return pa.table(
            {
                schema.ID: pa.array(u64_to_ids(u[first]), pa.string()),
                SHARD: rows.column("us").take(pa.array(sel)),
                "cluster": pa.array(root, pa.string()),
                "survivor": pa.array(root, pa.string()),
            },
            schema=out_schema,
        )

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        if decisions.num_rows == 0 or schema.ID not in decisions.column_names:
            res = self.split(table, [None] * table.num_rows)
            return OpResult(res.kept, _with_cluster_cols(res.rejected, [], []))
        info = dict(zip(decisions.column(schema.ID).to_pylist(),
                        zip(decisions.column("cluster").to_pylist(), decisions.column("survivor").to_pylist())))
        # ids are compared as uint64 so that a non-hex id maps the same way as in collect
        ids = u64_to_ids(ids_to_u64(table.column(schema.ID)))
        hits = [info.get(i) for i in ids]
        reasons = ["near_duplicate" if h else None for h in hits]
        details = [f"cluster {h[0]} survivor {h[1]}" if h else None for h in hits]
        res = self.split(table, reasons, details)
        lost = [h for h in hits if h]
        return OpResult(res.kept, _with_cluster_cols(res.rejected, [h[0] for h in lost], [h[1] for h in lost]))


def _with_cluster_cols(rejected: pa.Table, clusters: list, survivors: list) -> pa.Table:
    rejected = rejected.append_column("dup_cluster", pa.array(clusters, pa.string()))
    return rejected.append_column("dup_survivor", pa.array(survivors, pa.string()))
