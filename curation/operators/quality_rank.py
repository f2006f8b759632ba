"""quality_rank: a score's percentile within (domain, language, script) as the run's ``quality`` (global).

A corpus-wide score also measures which language and script a document is in: the token-frequency
prior (``token_prior``) finds the domain's large languages typical and a script with one document
not, so a selection by it picks languages, not better documents (issue 24, docs/models.md "Does the
score pick better data?"). This stage writes ``quality`` as each document's percentile of
``column`` among the documents of its own group (``within``: by default domain, ``lang`` and the
dominant script of the text, :mod:`curation.text.scripts`; the ``language`` stage labels many
scripts ``und``). Every group then spreads over [0, 1], and ``quality_select`` and the mix's
``quality_preference`` act within languages. The percentile is weighted by UTF-8 bytes (the
selection test's halves are halves of bytes) and taken at a bin's midpoint,
``(mass of lower bins + mass of its bin / 2) / mass of the group`` (as :func:`curation.ranks.
percentile_within` with equal scores sharing one midpoint): a group with one document gets 0.5.
A document without a score (null or NaN) gets 0.

Phases (the engine's collect -> combine -> apply, as ``quality_select``):

* collect (per shard): a sparse histogram per group of the score: one row per non-empty (group,
  bin), bins being ``quality_select``'s (the top 20 bits of the float32 in an order-preserving
  form: relative resolution 2^-11).
* combine (per key partition): sums; broadcast to every shard (no ``_shard``). Its size is groups
  times the bins a score's range spans, not the corpus size.
* apply (per shard): the percentile of every document from its group's histogram.

Nothing is rejected: the stage ranks, ``quality_select`` cuts.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation import schema
from curation.hashing import hash64, splitmix64
from curation.operators.base import KEY, GlobalOperator, OpResult, Params, with_columns
from curation.operators.context import ShardContext
from curation.operators.quality_select import bin_of
from curation.text.scripts import dominant_scripts

SCRIPT = "script"


class QualityRankParams(Params):
    #: the score to rank (higher is better): the token_prior stage's, the one measured (docs/models.md)
    column: str = "token_prior"
    #: the group columns; ``script`` (when not a column) is the text's dominant script
    within: list[str] = Field(default_factory=lambda: ["domain", "lang", SCRIPT])
    #: what the percentile counts: UTF-8 bytes (the selection test's halves) or documents
    weight: Literal["bytes", "documents"] = "bytes"
    #: the column written
    output: str = "quality"


class QualityRank(GlobalOperator):
    name = "quality_rank"
    Params = QualityRankParams

    @property
    def requires(self) -> tuple[str, ...]:
        return (self.params.column,) + tuple(c for c in self.params.within if c != SCRIPT)

    @property
    def provides(self) -> tuple[str, ...]:
        return (self.params.output,)

    def _groups(self, table: pa.Table) -> list[str]:
        parts = []
        for c in self.params.within:
            if c in table.column_names:
                parts.append([v or "" for v in table.column(c).cast(pa.string()).to_pylist()])
            elif c == SCRIPT:
                parts.append(dominant_scripts(table.column(schema.TEXT).to_pylist()))
            else:
                raise ValueError(f"quality_rank: no column {c!r} to rank within (columns: {table.column_names})")
        if not parts:
            return [""] * table.num_rows
        return ["\x1f".join(p) for p in zip(*parts)]

    def _score(self, table: pa.Table) -> np.ndarray:
        c = self.params.column
        if c not in table.column_names:
            raise ValueError(f"quality_rank: no column {c!r} (run the stage that writes it before this one)")
        return pc.fill_null(table.column(c).cast(pa.float32()), float("nan")).to_numpy(zero_copy_only=False)

    def _mass(self, table: pa.Table) -> np.ndarray:
        if self.params.weight == "documents":
            return np.ones(table.num_rows, np.int64)
        return np.asarray(pc.fill_null(pc.binary_length(table.column(schema.TEXT)), 0), np.int64)

    @staticmethod
    def _sum(t: pa.Table) -> pa.Table:
        g = t.group_by(["group", "bin"]).aggregate([("mass", "sum")])
        g = g.select(["group", "bin", "mass_sum"]).rename_columns(["group", "bin", "mass"])
        return g.sort_by([("group", "ascending"), ("bin", "ascending")])

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        s = self._score(table)
        ok = ~np.isnan(s)
        groups = np.array(self._groups(table), dtype=object)[ok]
        t = self._sum(pa.table({"group": pa.array(groups.tolist(), pa.string()),
                                "bin": pa.array(bin_of(s[ok]), pa.int64()),
                                "mass": pa.array(self._mass(table)[ok], pa.int64())}))
        gh = {g: hash64(g, "quality_rank") for g in set(t.column("group").to_pylist())}
        with np.errstate(over="ignore"):
            key = splitmix64(np.array([gh[g] for g in t.column("group").to_pylist()], np.uint64)
                             ^ splitmix64(t.column("bin").to_numpy()))
        return t.append_column(KEY, pa.array(key, pa.uint64()))

    def combine(self, rows: pa.Table) -> pa.Table:
        if rows.num_rows == 0 or "bin" not in rows.column_names:
            return pa.schema([("group", pa.string()), ("bin", pa.int64()), ("mass", pa.int64())]).empty_table()
        return self._sum(rows.select(["group", "bin", "mass"]))

    def midpoints(self, decisions: pa.Table) -> dict[tuple[str, int], float]:
        """``(group, bin) -> percentile`` from every partition's histogram rows."""
        if decisions.num_rows == 0 or "bin" not in decisions.column_names:
            return {}
        d = self._sum(decisions.select(["group", "bin", "mass"]))  # sorted by group, then bin
        groups = d.column("group").to_pylist()
        bins = d.column("bin").to_numpy()
        m = d.column("mass").to_numpy().astype(np.float64)
        out: dict[tuple[str, int], float] = {}
        start = 0
        for i in range(1, len(groups) + 1):
            if i == len(groups) or groups[i] != groups[start]:
                mm = m[start:i]
                total = mm.sum()
                mid = np.cumsum(mm) - mm / 2
                for b, v in zip(bins[start:i], mid / total if total > 0 else np.full(len(mm), 0.5)):
                    out[(groups[start], int(b))] = float(v)
                start = i
        return out

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        if "midpoints" not in ctx.state:  # apply runs per batch: the histogram once per shard
            ctx.state["midpoints"] = self.midpoints(decisions)
        mids = ctx.state["midpoints"]
        s = self._score(table)
        b = bin_of(s)
        q = np.array([0.0 if np.isnan(x) else mids.get((g, int(k)), 0.5)
                      for x, g, k in zip(s, self._groups(table), b)], dtype=np.float32)
        return self.keep_all(with_columns(table, {self.params.output: pa.array(q, pa.float32())}))
