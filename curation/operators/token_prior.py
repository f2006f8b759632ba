"""token_prior: how typical each document's words are of its domain in this corpus (global).

The token-frequency prior of Seo et al. 2025 (arXiv 2509.18577), with the corpus being the run's
own documents and the prior taken per ``domain`` (``group_by``), leave-one-out; the score and its
formula are in :mod:`curation.text.token_prior`. Column ``token_prior`` (float32, a mean log
probability: higher is more typical; NaN for a document with no words). With ``write_quality``
the stage also rewrites ``quality`` with the same ranking, ``1 + token_prior / ln(N + B)`` clipped
to [0, 1] (``N`` the domain's word count, ``B`` the buckets; no words: 0), so that
``quality_select``, the annealing set and the mix's ``quality_preference`` act on it.

Phases (the engine's collect -> combine -> apply, as ``kl_filter``):

* collect (per shard): the count of every ``(domain, word)`` bucket seen, plus one *total* row per
  domain (its word count), keyed by a hash of the bucket (or of the domain).
* combine (per key partition): sums. The decisions carry no ``_shard`` column, so every shard's
  apply receives every partition's rows: the whole table of at most ``B = 2**buckets_log2`` counts
  (8 MiB at the default 2^20) and one total per domain, whatever the corpus size or the number of
  partitions.
* apply (per shard): the scores, against that table (built once per shard).

Nothing is rejected: the stage ranks, ``quality_select`` cuts. Measured with the selection test
(``bench/quality_value.py --scores quality_prior``, docs/models.md "Does the score pick better
data?").
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation import schema
from curation.hashing import U64, hash64, splitmix64
from curation.operators.base import KEY, GlobalOperator, OpResult, Params, with_columns
from curation.operators.context import ShardContext
from curation.text import token_prior as tp

TOTAL = "is_total"


class TokenPriorParams(Params):
    #: 2**20 (kl_filter's default): the broadcast table stays 8 MiB; collisions merge rare words only
    buckets_log2: int = Field(tp.BUCKETS_LOG2, ge=8, le=26)
    #: the column whose values are the groups (the domain stage's); None: the whole corpus is one group
    group_by: Optional[str] = "domain"
    #: also write ``quality`` (replacing the quality stage's) from the prior: see the module docstring
    write_quality: bool = False


class TokenPrior(GlobalOperator):
    name = "token_prior"
    Params = TokenPriorParams

    @property
    def requires(self) -> tuple[str, ...]:
        return (self.params.group_by,) if self.params.group_by else ()

    @property
    def provides(self) -> tuple[str, ...]:
        return ("token_prior",) + (("quality",) if self.params.write_quality else ())

    def _groups(self, table: pa.Table) -> list[str]:
        g = self.params.group_by
        if not g or g not in table.column_names:
            return [""] * table.num_rows
        return [v or "" for v in table.column(g).cast(pa.string()).to_pylist()]

    def _total_key(self, group: str) -> int:
        return hash64("\x00token_prior total\x00" + group)

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        groups = self._groups(table)
        b, doc_of = tp.group_buckets(table.column(schema.TEXT), groups, self.params.buckets_log2)
        ub, cnt = np.unique(b, return_counts=True)
        per_doc = np.bincount(doc_of, minlength=table.num_rows)
        totals: dict[str, int] = {}
        for g, c in zip(groups, per_doc):
            totals[g] = totals.get(g, 0) + int(c)
        key = np.concatenate([splitmix64(ub.astype(U64)),
                              np.array([self._total_key(g) for g in totals], dtype=U64)])
        n_t = len(totals)
        return pa.table({KEY: pa.array(key, pa.uint64()),
                         "bucket": pa.array(np.concatenate([ub, np.zeros(n_t, np.int64)]), pa.int32()),
                         TOTAL: pa.array(np.r_[np.zeros(len(ub), bool), np.ones(n_t, bool)]),
                         "group": pa.array([""] * len(ub) + list(totals), pa.string()),
                         "count": pa.array(np.concatenate([cnt, np.array(list(totals.values()), np.int64)]),
                                           pa.int64())})

    def combine(self, rows: pa.Table) -> pa.Table:
        out_schema = pa.schema([("bucket", pa.int32()), (TOTAL, pa.bool_()), ("group", pa.string()),
                                ("count", pa.int64())])
        if rows.num_rows == 0 or "bucket" not in rows.column_names:
            return out_schema.empty_table()
        g = rows.group_by(["bucket", TOTAL, "group"]).aggregate([("count", "sum")])
        out = pa.table({"bucket": g.column("bucket"), TOTAL: g.column(TOTAL), "group": g.column("group"),
                        "count": g.column("count_sum")}, schema=out_schema)
        return out.sort_by([("bucket", "ascending"), (TOTAL, "ascending"), ("group", "ascending")])

    def corpus(self, decisions: pa.Table) -> tuple[np.ndarray, dict[str, float]]:
        """(count per bucket, word total per group) from every partition's decisions."""
        counts = np.zeros(1 << self.params.buckets_log2, dtype=np.float64)
        totals: dict[str, float] = {}
        if decisions.num_rows:
            t = decisions.column(TOTAL).to_numpy(zero_copy_only=False).astype(bool)
            b = decisions.column("bucket").to_numpy().astype(np.int64)
            c = decisions.column("count").to_numpy().astype(np.float64)
            np.add.at(counts, b[~t], c[~t])
            for grp, cc in zip(decisions.column("group").filter(pa.array(t)).to_pylist(), c[t]):
                totals[grp] = totals.get(grp, 0.0) + float(cc)
        return counts, totals

    def scores(self, table: pa.Table, corpus: tuple[np.ndarray, dict[str, float]]) -> np.ndarray:
        counts, totals = corpus
        groups = self._groups(table)
        b, doc_of = tp.group_buckets(table.column(schema.TEXT), groups, self.params.buckets_log2)
        group_totals = np.array([totals.get(g, 0.0) for g in groups], dtype=np.float64)
        return tp.scores(b, doc_of, table.num_rows, counts, group_totals, self.params.buckets_log2)

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        if "corpus" not in ctx.state:  # apply runs per batch: the corpus table once per shard
            ctx.state["corpus"] = self.corpus(decisions)
        prior = self.scores(table, ctx.state["corpus"])
        cols = {"token_prior": pa.array(prior.astype(np.float32), pa.float32())}
        if self.params.write_quality:
            totals = ctx.state["corpus"][1]
            n = np.array([totals.get(g, 0.0) for g in self._groups(table)], dtype=np.float64)
            q = 1.0 + prior / np.log(n + (1 << self.params.buckets_log2))
            cols["quality"] = pa.array(np.clip(np.nan_to_num(q, nan=0.0), 0.0, 1.0).astype(np.float32), pa.float32())
        table = with_columns(table, cols)
        return self.keep_all(table)
