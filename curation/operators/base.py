"""The operator contract (DESIGN.md principle 1). Operators know nothing of Ray.

Two kinds:

* :class:`MapOperator` - ``process(table) -> OpResult``: a batch of documents in, the kept rows
  (possibly with new columns) and the rejected rows (each with ``stage``, ``reason``, ``detail``)
  out. Consecutive map operators are fused by the engine and run shard by shard.
* :class:`GlobalOperator` - three explicit phases so that no phase needs the whole corpus in one
  process:

  1. ``collect(table) -> Table`` per shard: partial state, one row per key. It must contain a
     ``key`` column (uint64); the engine adds ``_shard`` (int32, the shard the row came from) and
     hash-partitions the rows by ``key`` across workers, spilling to Parquet.
  2. ``combine(rows) -> Table`` per key partition: receives every collected row whose key falls in
     that partition (from all shards) and returns *decision* rows. If the decisions carry the
     ``_shard`` column they are routed back to that shard only; otherwise they are broadcast to
     every shard (use this for small global statistics, e.g. a token histogram).
  3. ``apply(table, decisions) -> OpResult`` per shard, like a map operator, with the decisions
     routed to this shard.

Both kinds have ``setup()``, called once per worker before the first batch (load models here), and
a ``params`` pydantic model validated from the pipeline file before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from curation import schema

KEY = "key"
SHARD = "_shard"


class Params(BaseModel):
    """Base of every operator's parameters: unknown fields are an error, naming the field."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class OpResult:
    kept: pa.Table
    rejected: pa.Table

    @property
    def counts(self) -> tuple[int, int]:
        return self.kept.num_rows, self.rejected.num_rows


class Operator:
    """Common parts of map and global operators."""

    name: ClassVar[str] = "operator"
    Params: ClassVar[type[Params]] = Params
    #: True when setup() loads a model: the engine then keeps the operator on long-lived actors.
    uses_model: ClassVar[bool] = False

    def __init__(self, params: Params | dict | None = None, stage: str | None = None):
        if params is None or isinstance(params, dict):
            params = self.Params(**(params or {}))
        self.params = params
        self.stage = stage or self.name

    #: The run folder (a :class:`curation.run.layout.RunLayout`), given by the engine (``bind_run``)
    #: before ``setup()``: for the few operators that write run-level files from the workers
    #: (``tokenize``: token shards, through :mod:`curation.run.tokens`). None outside a run.
    run = None

    def bind_run(self, run) -> None:
        """``run``: the run's ``RunLayout`` (or its URI / local path)."""
        from curation.run.layout import RunLayout

        self.run = RunLayout.of(run)

    def setup(self) -> None:
        """Load models or tables once per worker. Default: nothing."""

    # -- helpers for subclasses ------------------------------------------------------------
    def split(
        self,
        table: pa.Table,
        reasons: list[str | None] | np.ndarray,
        details: list[str | None] | np.ndarray | None = None,
    ) -> OpResult:
        """Split ``table`` into kept rows (reason is None) and rejected rows (reason set)."""
        reasons_arr = pa.array(list(reasons) if not isinstance(reasons, list) else reasons, pa.string())
        keep_mask = pc.is_null(reasons_arr)
        kept = table.filter(keep_mask)
        drop_mask = pc.invert(keep_mask)
        if details is None:
            details_arr = pa.nulls(len(table), pa.string())
        else:
            details_arr = pa.array(list(details), pa.string())
        rejected = make_rejected(
            table.filter(drop_mask),
            self.stage,
            reasons_arr.filter(drop_mask),
            details_arr.filter(drop_mask),
        )
        return OpResult(kept, rejected)


def make_rejected(rows: pa.Table, stage: str, reasons, details=None) -> pa.Table:
    """Rejected rows: the document columns minus heavy ones, plus stage, reason and detail."""
    keep_cols = [c for c in rows.column_names if c not in schema.HEAVY_COLUMNS]
    out = rows.select(keep_cols)
    n = out.num_rows
    if isinstance(reasons, str):
        reasons = pa.array([reasons] * n, pa.string())
    if details is None:
        details = pa.nulls(n, pa.string())
    elif isinstance(details, str):
        details = pa.array([details] * n, pa.string())
    for name in (schema.STAGE, schema.REASON, schema.DETAIL):
        if name in out.column_names:
            out = out.drop_columns([name])
    out = out.append_column(schema.STAGE, pa.array([stage] * n, pa.string()))
    out = out.append_column(schema.REASON, pa.array(reasons, pa.string()))
    out = out.append_column(schema.DETAIL, pa.array(details, pa.string()))
    return out


def in_domains(table: pa.Table, domains: list[str] | None, column: str = "domain") -> np.ndarray:
    """Per row: True when its ``column`` value is one of ``domains``; all True when ``domains`` is
    None or the table has no such column (stages that judge only some domains, e.g. prose)."""
    if domains is None or column not in table.column_names:
        return np.ones(table.num_rows, bool)
    col = table.column(column).cast(pa.string())
    hit = pc.fill_null(pc.is_in(col, value_set=pa.array(list(domains), pa.string())), False)
    return hit.to_numpy(zero_copy_only=False).astype(bool)


class MapOperator(Operator):
    def process(self, table: pa.Table) -> OpResult:  # pragma: no cover - interface
        raise NotImplementedError


class GlobalOperator(Operator):
    #: Extra key-partitioned rounds between collect and combine (0: none). When > 0 the engine
    #: calls ``iterate(rows, r)`` on every key partition for r = 0, 1, ... (round 0 gets the
    #: collected rows, round r the rows round r-1 returned, re-partitioned by their ``key``) until
    #: no partition reports a change; ``combine`` then gets the last round's rows. Used for
    #: iterative algorithms such as connected components (minhash_dedup).
    max_rounds: ClassVar[int] = 0
    #: True when the operator needs ``begin_shard`` (the engine reads the document counts of the
    #: stage's input from Parquet footers once per stage).
    wants_positions: ClassVar[bool] = False

    def begin_shard(self, shard: int, docs_before: int, docs_total: int) -> None:
        """Called before ``collect`` and before ``apply`` of each shard when ``wants_positions``:
        the shard's index, the number of input documents in the shards before it and in all shards
        (both deterministic: they never depend on the number of workers)."""

    def iterate(self, rows: pa.Table, round: int) -> tuple[pa.Table, bool]:  # pragma: no cover
        """One extra round over one key partition: return rows (with ``key``) and whether
        anything changed. Only called when ``max_rounds`` > 0."""
        raise NotImplementedError

    def collect(self, table: pa.Table) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError

    def combine(self, rows: pa.Table) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, table: pa.Table, decisions: pa.Table) -> OpResult:  # pragma: no cover
        raise NotImplementedError
