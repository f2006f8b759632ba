"""quality_select: keep the top fraction of each domain by a score, cut at the corpus's own percentile (global).

DCLM (Li et al. 2024, "DataComp-LM") keeps the top 10% of its pool by a fastText quality score, and
FineWeb-Edu (Penedo et al. 2024) keeps the documents above a threshold of its educational-value
classifier. An absolute threshold on our small bundled scorers would mean nothing on another
corpus, so the cut is a percentile of the corpus's own score distribution, per domain (math word
problems and code do not score like Wikipedia prose, and each domain has its own share of the mix).

Phases (the engine's collect -> combine -> apply):

* collect (per shard): a sparse histogram per domain of the score column (default ``quality``):
  one row per non-empty (domain, bin) with the documents and characters in it. Bins are the top 20
  bits of the float32 score in an order-preserving integer form, so every value has a relative
  resolution of 2^-11 (about 0.0002 at a score of 0.4) whatever the column's range, and there are
  at most a few thousand bins per domain for scores in [0, 1]. A null or NaN score counts as -inf.
* combine (per key partition): sums per (domain, bin); broadcast to every shard (no ``_shard``).
* apply (per shard): per domain, the cut bin is where the documents counted from the best bin
  down reach ``keep_fraction[domain]`` of the domain. Documents above the cut bin are kept, below it
  rejected (``low_quality``, detail ``quality 0.312 < 0.401 (p30 of general)``). Inside the cut bin
  (equal or nearly equal scores) a document is kept when a seeded hash of its id falls below the
  share of that bin needed to reach the fraction: deterministic, the same for 1 or N workers, and
  exact in expectation (detail ``... in the cut bin at 0.401 (p30 of general), tie broken by id
  hash``).

The percentile is over documents by default (``weight: documents``): DCLM's "top 10%" and the
FineWeb-Edu threshold are rules on documents, a document is the unit a score judges, and a few
very long pages cannot move the cut. The mix that follows works in tokens and restores the
domains' token shares whatever was cut. ``weight: characters`` cuts by characters instead.

Domains with fewer than ``min_documents`` documents in the corpus are not cut (a percentile of a
handful of documents is noise), nor are domains not named in ``keep_fraction``. Without a domain
column every document is ``general`` (as in ``mix``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from curation import schema
from curation.hashing import hash64, splitmix64
from curation.operators.base import KEY, GlobalOperator, OpResult, Params
from curation.operators.context import ShardContext

BIN_SHIFT = 12  # float32 sortable key >> 12: 2^20 bins, relative resolution 2^-11


class QualitySelectParams(Params):
    #: share of each domain's documents kept, best first. Off by default (1.0 everywhere): the
    #: ``quality`` stage's score fails the selection test (issue 24, docs/models.md "Does the score
    #: pick better data?": its top half trained the debug model no better than a random half, its
    #: bottom half the best). pipelines/llama3.yaml cuts 5% of general and multilingual by the
    #: ``quality_rank`` stage's ``quality``, which passes. DCLM keeps its top 10%
    #: and FineWeb-Edu about 8%, with scores that pass that test on their pools; set fractions here
    #: for a score that passes it on yours (``curate evaluate --select COLUMN``).
    keep_fraction: dict[str, float] = Field(default_factory=lambda: {
        "general": 1.0, "multilingual": 1.0, "math": 1.0, "code": 1.0, "undetermined": 1.0})
    #: the score column (written by the quality stage); higher is better
    column: str = "quality"
    #: the domain column (written by the domain stage); absent: every document is "general"
    domain_column: str = "domain"
    #: domains with fewer documents are not cut: at 100 documents the binomial standard error of the
    #: share below a p20 cut is already 4 points (sqrt(0.2 * 0.8 / 100))
    min_documents: int = Field(100, ge=1)
    #: what the percentile counts: documents (DCLM, FineWeb-Edu) or characters
    weight: Literal["documents", "characters"] = "documents"
    #: seed of the id hash that breaks ties inside the cut bin
    seed: int = 0

    @field_validator("keep_fraction")
    @classmethod
    def _fractions(cls, v):
        bad = {d: x for d, x in v.items() if not 0.0 <= x <= 1.0}
        if bad:
            raise ValueError(f"keep_fraction must be in [0, 1]: {bad}")
        return v


# -- an order-preserving integer form of float32 -----------------------------------------------
def sortable(x: np.ndarray) -> np.ndarray:
    """uint32 keys with the order of the float32 values (NaN -> -inf)."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=-np.inf, posinf=np.inf, neginf=-np.inf)
    bits = x.view(np.uint32)
    neg = (bits >> np.uint32(31)).astype(bool)
    return np.where(neg, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)


def unsortable(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, np.uint32)
    pos = (s >> np.uint32(31)).astype(bool)
    return np.where(pos, s & np.uint32(0x7FFFFFFF), ~s).astype(np.uint32).view(np.float32)


def bin_of(x: np.ndarray) -> np.ndarray:
    return (sortable(x) >> np.uint32(BIN_SHIFT)).astype(np.int64)


def bin_floor(b: int) -> float:
    """The smallest value in bin ``b``."""
    return float(unsortable(np.array([b << BIN_SHIFT], np.uint32))[0])


class QualitySelect(GlobalOperator):
    name = "quality_select"

    @property
    def requires(self) -> tuple[str, ...]:
        return (self.params.column,)
    Params = QualitySelectParams

    # -- per-document columns ----------------------------------------------------------------
    def _columns(self, table: pa.Table) -> tuple[list[str], np.ndarray]:
        p: QualitySelectParams = self.params
        if p.column not in table.column_names:
            raise ValueError(f"quality_select: no column {p.column!r} (run the quality stage before it, "
                             f"or set `column`); columns: {table.column_names}")
        n = table.num_rows
        if p.domain_column in table.column_names:
            domain = [d or "general" for d in table.column(p.domain_column).cast(pa.string()).to_pylist()]
        else:
            domain = ["general"] * n
        score = pc.fill_null(table.column(p.column).cast(pa.float32()), float("nan"))
        return domain, score.to_numpy(zero_copy_only=False).astype(np.float32)

    # -- phases --------------------------------------------------------------------------------
    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        domain, score = self._columns(table)
        chars = pc.fill_null(pc.utf8_length(table.column(schema.TEXT)), 0).to_numpy(zero_copy_only=False)
        t = pa.table({"domain": pa.array(domain, pa.string()), "bin": pa.array(bin_of(score), pa.int64()),
                      "docs": pa.array(np.ones(len(domain), np.int64)),
                      "chars": pa.array(np.asarray(chars, np.int64))})
        t = self._sum(t)
        doms = t.column("domain").to_pylist()
        dh = {d: hash64(d, "quality_select") for d in set(doms)}
        with np.errstate(over="ignore"):
            key = splitmix64(np.array([dh[d] for d in doms], np.uint64) ^ splitmix64(t.column("bin").to_numpy()))
        return t.append_column(KEY, pa.array(key, pa.uint64()))

    @staticmethod
    def _sum(t: pa.Table) -> pa.Table:
        g = t.group_by(["domain", "bin"]).aggregate([("docs", "sum"), ("chars", "sum")])
        g = g.select(["domain", "bin", "docs_sum", "chars_sum"]).rename_columns(["domain", "bin", "docs", "chars"])
        return g.sort_by([("domain", "ascending"), ("bin", "ascending")])

    def combine(self, rows: pa.Table) -> pa.Table:
        if rows.num_rows == 0 or "bin" not in rows.column_names:
            return pa.schema([("domain", pa.string()), ("bin", pa.int64()), ("docs", pa.int64()),
                              ("chars", pa.int64())]).empty_table()
        return self._sum(rows.select(["domain", "bin", "docs", "chars"]))

    def cuts(self, decisions: pa.Table) -> dict[str, dict]:
        """Per domain: ``bin`` (the cut bin; None: no cut), ``tie_share`` (share of the cut bin
        kept), ``value`` (smallest score in the cut bin), ``percentile``, ``documents``. The same
        decisions give the same cuts on every shard (integer sums, sorted bins)."""
        p: QualitySelectParams = self.params
        if decisions.num_rows == 0 or "bin" not in decisions.column_names:
            return {}
        d = self._sum(decisions.select(["domain", "bin", "docs", "chars"]))
        out: dict[str, dict] = {}
        doms = np.array(d.column("domain").to_pylist(), dtype=object)
        bins = d.column("bin").to_numpy()
        mass = d.column("docs" if p.weight == "documents" else "chars").to_numpy().astype(np.int64)
        docs = d.column("docs").to_numpy().astype(np.int64)
        for dm in sorted(set(doms.tolist())):
            sel = doms == dm
            b, m = bins[sel], mass[sel]
            n_docs = int(docs[sel].sum())
            frac = p.keep_fraction.get(dm)
            cut = {"bin": None, "tie_share": 1.0, "value": None, "documents": n_docs,
                   "percentile": None if frac is None else round(100 * (1 - frac))}
            out[dm] = cut
            if frac is None or frac >= 1.0 or n_docs < p.min_documents:
                continue
            order = np.argsort(-b, kind="stable")  # best bin first
            b, m = b[order], m[order]
            want = frac * float(m.sum())
            above = np.concatenate([[0], np.cumsum(m)[:-1]]).astype(np.float64)  # mass in better bins
            i = int(np.searchsorted(above + m, want, side="left"))  # first bin whose end reaches want
            i = min(i, len(b) - 1)
            need = want - above[i]
            cut["bin"] = int(b[i])
            cut["tie_share"] = float(min(max(need / m[i], 0.0), 1.0)) if m[i] else 0.0
            cut["value"] = bin_floor(int(b[i]))
        return out

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        p: QualitySelectParams = self.params
        if "cuts" not in ctx.state:  # apply runs per batch: the cuts once per shard
            ctx.state["cuts"] = self.cuts(decisions)
        cuts = ctx.state["cuts"]
        domain, score = self._columns(table)
        b = bin_of(score)
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        details: list[str | None] = [None] * n
        ids = table.column(schema.ID).to_pylist()
        col = p.column
        dom = np.array(domain, dtype=object)
        for dm in sorted(set(domain)):
            cut = cuts.get(dm)
            if cut is None or cut["bin"] is None:
                continue
            where = f"p{cut['percentile']} of {dm}"
            idx = np.flatnonzero(dom == dm)
            for i in idx[b[idx] < cut["bin"]]:
                reasons[i] = "low_quality"
                details[i] = f"{col} {score[i]:.3f} < {cut['value']:.3f} ({where})"
            for i in idx[b[idx] == cut["bin"]]:
                u = hash64(ids[i], f"{p.seed}\x1fquality_select") / 2.0**64
                if u >= cut["tie_share"]:
                    reasons[i] = "low_quality"
                    details[i] = (f"{col} {score[i]:.3f} in the cut bin at {cut['value']:.3f} ({where}), "
                                  "tie broken by id hash")
        return self.split(table, reasons, details)
