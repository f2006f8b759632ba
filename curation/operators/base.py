"""The operator contract (docs/architecture.md, principle 1). Operators know nothing of Ray.

Two kinds:

* :class:`MapOperator` - ``process(table) -> OpResult``: a batch of documents in, the kept rows
  (possibly with new columns) and the rejected rows (each with ``stage``, ``reason``, ``detail``)
  out. Consecutive map operators are fused by the engine and run shard by shard.
* :class:`GlobalOperator` - three explicit phases so that no phase needs the whole corpus in one
  process:

  1. ``collect(table, ctx) -> Table`` per shard and batch: partial state, one row per key. It must contain a
     ``key`` column (uint64); the engine adds ``_shard`` (int32, the shard the row came from) and
     hash-partitions the rows by ``key`` across workers, spilling to Parquet.
  2. ``combine(rows) -> Table`` per key partition: receives every collected row whose key falls in
     that partition (from all shards) and returns *decision* rows. If the decisions carry the
     ``_shard`` column they are routed back to that shard only; otherwise they are broadcast to
     every shard (use this for small global statistics, e.g. a token histogram).
  3. ``apply(table, decisions, ctx) -> OpResult`` per shard and batch, like a map operator, with
     the decisions routed to this shard.

  ``ctx`` (:class:`curation.operators.context.ShardContext`) carries the shard's index, positions,
  the run and a per-shard ``state`` dict: per-shard state lives there, never on the operator.

Both kinds have ``setup()``, called by the engine (:func:`ready`) once per worker before the first
hook, and on the driver before ``finalize`` (load models here; operators never call it themselves), and a ``params`` pydantic model validated from
the pipeline file before any work starts. Every hook the engine calls is declared here with a
default, and so is what an operator needs from a run:

* ``requires`` / ``provides``: the columns it reads and the columns it adds. The pipeline is
  checked against them when it is read (:mod:`curation.operators.columns`), before any work.
* ``num_cpus`` / ``num_gpus``: the resources of one worker running it. The engine fuses
  consecutive map stages only while these agree (:mod:`curation.engine.plan`), so a CPU stage
  next to a GPU stage runs on CPU workers.

Most map stages only judge or annotate rows: subclass :class:`curation.operators.filter.Filter`
(implement ``decide``) or :class:`curation.operators.annotator.Annotator` (implement ``annotate``).
docs/operators.md shows both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from curation import schema
from curation.operators.context import ShardContext

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
    #: True when setup() loads a model (informational: every worker is a long-lived actor, so any
    #: operator is set up once per worker). Where a stage runs is ``num_cpus``/``num_gpus``.
    uses_model: ClassVar[bool] = False
    #: Columns the operator reads, beyond the document columns every reader gives
    #: (``schema.DOC_SCHEMA``): a stage before it must provide them. An operator whose needs depend
    #: on its parameters overrides this with a property.
    requires: ClassVar[tuple[str, ...]] = ()
    #: Columns the operator adds (or rewrites) on the rows it keeps.
    provides: ClassVar[tuple[str, ...]] = ()
    #: Resources of one worker running this stage (Ray's ``num_cpus``/``num_gpus``). A stage with
    #: ``num_gpus`` > 0 runs on one-GPU actors when the cluster has GPUs, on CPU actors otherwise.
    num_cpus: ClassVar[float] = 1
    num_gpus: ClassVar[float] = 0

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
    def no_rejections(self, table: pa.Table) -> pa.Table:
        """The empty rejected table of a batch where nothing was dropped."""
        return make_rejected(table.slice(0, 0), self.stage, pa.array([], pa.string()))

    def keep_all(self, table: pa.Table) -> OpResult:
        """Every row of ``table`` kept, nothing rejected."""
        return OpResult(table, self.no_rejections(table))

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


def with_columns(table: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    """``table`` with ``columns`` appended in order; a column of the same name is replaced (dropped
    and appended again, so a re-run stage gives the same column order)."""
    old = [name for name in columns if name in table.column_names]
    if old:
        table = table.drop_columns(old)
    for name, values in columns.items():
        table = table.append_column(name, values)
    return table


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
    """Per-shard calls (``collect``, ``apply``, ``shard_outputs``) get a
    :class:`~curation.operators.context.ShardContext`: the shard's index and positions, the run,
    and a scratch dict for state that must live from one batch of the shard to the next. Nothing
    per shard is kept on the operator, which a worker reuses for every shard it runs."""

    #: Extra key-partitioned rounds between collect and combine (0: none). When > 0 the engine
    #: calls ``iterate(rows, r)`` on every key partition for r = 0, 1, ... (round 0 gets the
    #: collected rows, round r the rows round r-1 returned, re-partitioned by their ``key``) until
    #: no partition reports a change; ``combine`` then gets the last round's rows. Used for
    #: iterative algorithms such as connected components (minhash_dedup).
    max_rounds: ClassVar[int] = 0
    #: True when the operator needs ``ctx.docs_before`` / ``ctx.docs_total`` (the engine reads the
    #: document counts of the stage's input from Parquet footers once per stage): line_dedup.
    wants_positions: ClassVar[bool] = False

    #: True when the apply step writes per-shard run outputs (``shard_outputs``) and the driver
    #: merges their summaries afterwards (``finalize``): ``mix`` and ``tokenize``.
    writes_outputs: ClassVar[bool] = False
    #: The run outputs (folders of the run) this stage writes per shard: each table
    #: ``shard_outputs`` returns must be named here (the engine refuses others). ``mix``: ``mix``
    #: and ``anneal``, written by the engine through :mod:`curation.run`; ``tokenize``: ``tokens``,
    #: its token files, written through :mod:`curation.run.tokens`.
    outputs: ClassVar[tuple[str, ...]] = ()
    #: False when ``shard_outputs`` does not look at the shard's kept table (it gets None, and the
    #: engine skips reading the shard back): ``tokenize`` holds its tokens already.
    shard_outputs_reads_kept: ClassVar[bool] = True

    def shard_outputs(self, kept: pa.Table | None, ctx: ShardContext) -> tuple[dict[str, pa.Table], dict]:
        """After a shard's apply, when ``writes_outputs``: ``(tables by run output name, summary)``;
        the engine commits each table as ``<output>/<name>/<shard>.parquet`` with the shard and
        keeps the small JSON ``summary`` for ``finalize``. ``ctx`` is the one the shard's apply
        calls got."""
        return {}, {}

    def finalize(self, summaries: list[dict], decisions: pa.Table, run_uri: str) -> dict:
        """On the driver after every shard is applied, when ``writes_outputs`` (the engine has run
        ``setup()`` there first): the per-shard summaries in shard order and the stage's decisions
        in, manifest content out (a dict with ``format`` is a whole manifest; otherwise its keys
        are sections added to it)."""
        return {}

    def iterate(self, rows: pa.Table, round: int) -> tuple[pa.Table, bool]:  # pragma: no cover
        """One extra round over one key partition: return rows (with ``key``) and whether
        anything changed. Only called when ``max_rounds`` > 0."""
        raise NotImplementedError

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError

    def combine(self, rows: pa.Table) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:  # pragma: no cover
        raise NotImplementedError


def ready(op: Operator, run=None) -> Operator:
    """The one way an operator is made ready to work: bound to its run (when given), then set up.
    The engine calls it on every worker, and on the driver before ``finalize``; call it yourself
    when you use an operator directly (a notebook, a test). Returns ``op``."""
    if run is not None:
        op.bind_run(run)
    op.setup()
    return op
