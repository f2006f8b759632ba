"""The work done for one shard (or one key partition), as plain Python.

The Ray runner wraps :class:`ShardWorker` in long-lived actors, so operators are set up (models
loaded) once per worker and reused for every shard; tests can call it directly without Ray.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation import schema
from curation.config import PipelineConfig
from curation.run.commit import StagedParquet, write_json_atomic, write_table_atomic
from curation.run import spill
from curation.run.layout import RunLayout
from curation.engine.plan import Group, plan_groups, ready_operator
from curation.io import fs as fsx
from curation.io.sources import READ_STAGE, Shard, read_shard
from curation.operators.base import KEY, SHARD, OpResult
from curation.operators.context import ShardContext

STATS_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("shard", pa.string()),
        ("docs_in", pa.int64()),
        ("docs_kept", pa.int64()),
        ("docs_rejected", pa.int64()),
        ("seconds", pa.float64()),
    ]
)


class FaultInjected(RuntimeError):
    """Raised on purpose by the fault spec ``crash:<stage>:<shard>`` (tests of resume)."""


class StageFailed(RuntimeError):
    """An operator raised; the message names the stage and the input files of the batch."""


#: At most this many files are named in a :class:`StageFailed` message.
MAX_FILES_NAMED = 5


def _source_files(table: pa.Table) -> str:
    """The distinct input files of a batch's documents (``source`` is ``path#record``)."""
    if schema.SOURCE not in table.column_names:
        return "(unknown files)"
    files: list[str] = []
    for source in pc.unique(table.column(schema.SOURCE)).to_pylist():
        path = (source or "").rsplit("#", 1)[0]
        if path not in files:
            files.append(path)
    more = f" and {len(files) - MAX_FILES_NAMED} more" if len(files) > MAX_FILES_NAMED else ""
    return ", ".join(files[:MAX_FILES_NAMED]) + more


def _maybe_fault(spec: str | None, stage: str, shard: Shard, layout: RunLayout) -> None:
    """Test hook (``RunOptions.fault`` or ``$CURATION_FAULT``): ``crash:<stage>:<i>`` raises in
    shard ``i`` of ``stage``; ``kill:<stage>:<i>`` kills the worker process there, once;
    ``hang:<stage>:<i>`` sleeps there for an hour; ``lose:<stage>:<i>`` writes the worker's Ray node id
    to the fault marker and waits there, once (a multi-node test then removes that node). Several
    faults are separated by commas."""
    spec = spec or os.environ.get("CURATION_FAULT")
    if not spec:
        return
    for one in spec.split(","):  # several faults: ``kill:extract:1,lose:url_dedup:2``
        _one_fault(one, stage, shard, layout)


def _one_fault(spec: str, stage: str, shard: Shard, layout: RunLayout) -> None:
    kind, fstage, fshard = spec.split(":")
    if fstage != stage or int(fshard) != shard.index:
        return
    if kind == "crash":
        raise FaultInjected(f"injected failure in stage {stage}, shard {shard.name}")
    if kind == "hang":  # a run that stays up, for tests that look at or signal a live run
        print(f"fault: hanging in stage {stage}, shard {shard.name}", file=sys.stderr, flush=True)
        time.sleep(3600)
    if kind == "kill":
        marker = layout.fault_marker(stage, shard.index)
        if not fsx.exists(layout.fs, marker):
            write_json_atomic(layout.fs, marker, "killed once")
            os._exit(137)
    if kind == "lose":  # once: name this worker's node in the marker and wait there (a test removes the node)
        marker = layout.fault_marker(stage, shard.index)
        if not fsx.exists(layout.fs, marker):
            from curation.engine.cluster import node_id

            write_json_atomic(layout.fs, marker, {"node_id": node_id()})
            time.sleep(3600)


class _StageCounter:
    def __init__(self):
        self.docs_in = self.docs_kept = self.docs_rejected = 0
        self.seconds = 0.0

    def add(self, n_in: int, n_kept: int, n_rej: int, seconds: float) -> None:
        self.docs_in += n_in
        self.docs_kept += n_kept
        self.docs_rejected += n_rej
        self.seconds += seconds


class ShardWorker:
    def __init__(self, config: dict, output: str, fault: str | None = None):
        self.fault = fault
        self.cfg = PipelineConfig(**config)
        self.layout = RunLayout(output)
        self.groups = plan_groups(self.cfg)
        self._ops: dict[str, object] = {}

    # -- operators ---------------------------------------------------------------------------
    def _op(self, stage_cfg):
        op = self._ops.get(stage_cfg.name)
        if op is None:
            op = ready_operator(stage_cfg, self.layout)
            self._ops[stage_cfg.name] = op
        return op

    def release(self, group_index: int) -> None:
        """Drop a finished group's operators (and their models) from this worker."""
        for stage in self.groups[group_index].stages:
            self._ops.pop(stage.name, None)

    # -- inputs ------------------------------------------------------------------------------
    def _previous_output(self, group: Group, shard: Shard) -> Iterator[pa.Table]:
        prev = self.groups[group.index - 1]
        path = self.layout.kept(prev.name, shard.name)
        pf = pq.ParquetFile(path, filesystem=self.layout.fs)
        if pf.metadata.num_rows == 0:
            yield pf.schema_arrow.empty_table()
            return
        for batch in pf.iter_batches(batch_size=self.cfg.input.batch_docs):
            yield pa.Table.from_batches([batch])

    # -- the common loop: batches through a chain of steps, everything accounted -------------
    def _run_chain(
        self, group: Group, shard: Shard, steps: list[tuple[str, Callable[[pa.Table], OpResult]]],
        outputs=None,
    ) -> dict:
        """``outputs``: (a global operator, its shard context) whose ``shard_outputs(kept table,
        ctx) -> (tables by run output name, summary)`` gives extra per-shard files (the mix's
        ``mix``/``anneal``), committed with the shard, before its kept file."""
        fs, comp = self.layout.fs, self.cfg.output.compression
        counters = {name: _StageCounter() for name, _ in steps}
        rejected = {name: StagedParquet(fs, self.layout.rejected(name, shard.name), comp) for name, _ in steps}
        kept = StagedParquet(fs, self.layout.kept(group.name, shard.name), comp)
        if group.reads_input:
            counters = {READ_STAGE: _StageCounter(), **counters}
            rejected[READ_STAGE] = StagedParquet(fs, self.layout.rejected(READ_STAGE, shard.name), comp)
        try:
            for table in self._batches(group, shard, counters, rejected):
                for name, step in steps:
                    _maybe_fault(self.fault, name, shard, self.layout)
                    t0 = time.perf_counter()
                    n_in = table.num_rows
                    try:
                        res = step(table) if n_in else OpResult(table, table.slice(0, 0))
                    except Exception as e:
                        raise StageFailed(f"stage {name} failed on documents from {_source_files(table)}: "
                                          f"{type(e).__name__}: {e}") from e
                    counters[name].add(n_in, res.kept.num_rows, res.rejected.num_rows, time.perf_counter() - t0)
                    if res.kept.num_rows + res.rejected.num_rows != n_in:
                        raise RuntimeError(
                            f"stage {name} lost documents on {shard.name}: {n_in} in, "
                            f"{res.kept.num_rows} kept + {res.rejected.num_rows} rejected"
                        )
                    rejected[name].write(self._rejected_view(res.rejected))
                    table = res.kept
                kept.write(table)
            for name, writer in rejected.items():
                writer.commit(write_empty=False)
            self._write_stats(shard, counters)
            if outputs is not None:
                self._write_outputs(group, shard, kept, outputs)
            kept.commit()
        except BaseException:
            for w in (*rejected.values(), kept):
                w.abort()
            raise
        return {
            "shard": shard.name,
            "stages": {n: (c.docs_in, c.docs_kept, c.docs_rejected, c.seconds) for n, c in counters.items()},
        }

    def _batches(self, group, shard, counters, rejected) -> Iterator[pa.Table]:
        if not group.reads_input:
            yield from self._previous_output(group, shard)
            return
        inp = self.cfg.input
        read = counters[READ_STAGE]
        for batch in read_shard(shard, inp.batch_docs, inp.max_record_bytes):
            n_docs, n_rej = batch.docs.num_rows, batch.rejected.num_rows
            read.add(n_docs + n_rej, n_docs, n_rej, 0.0)
            rejected[READ_STAGE].write(batch.rejected)
            yield batch.docs

    def _rejected_view(self, table: pa.Table) -> pa.Table:
        if not self.cfg.output.keep_rejected_text and schema.TEXT in table.column_names:
            table = table.drop_columns([schema.TEXT])
        return table

    def _write_outputs(self, group: Group, shard: Shard, kept: StagedParquet, outputs) -> None:
        """``op.shard_outputs`` (a GlobalOperator with ``writes_outputs``) for this shard."""
        op, ctx = outputs
        kept.close()
        needs_kept = op.shard_outputs_reads_kept  # tokenize: no, its tokens are held already
        tables, summary = op.shard_outputs(pq.read_table(kept.tmp, filesystem=self.layout.fs) if needs_kept else None,
                                           ctx)
        rels = {}
        for name, table in tables.items():
            if name not in op.outputs:
                raise TypeError(f"{op.stage}.shard_outputs returned {name!r}, not one of its declared outputs "
                                f"{op.outputs}")
            write_table_atomic(self.layout.fs, table, self.layout.output(name, shard.name))
            rels[name] = self.layout.output_rel(name, shard.name)
        write_json_atomic(self.layout.fs, self.layout.summary(group.stages[0].name, shard.name),
                          {**summary, "shard": shard.name, "outputs": rels})

    def _write_stats(self, shard: Shard, counters: dict[str, _StageCounter]) -> None:
        for name, c in counters.items():
            row = pa.Table.from_pylist(
                [dict(stage=name, shard=shard.name, docs_in=c.docs_in, docs_kept=c.docs_kept,
                      docs_rejected=c.docs_rejected, seconds=c.seconds)],
                schema=STATS_SCHEMA,
            )
            write_table_atomic(self.layout.fs, row, self.layout.stats(name, shard.name), self.cfg.output.compression)

    # -- map groups --------------------------------------------------------------------------
    def run_map(self, group_index: int, shard: Shard) -> dict:
        group = self.groups[group_index]
        steps = [(s.name, self._op(s).process) for s in group.stages]
        return self._run_chain(group, shard, steps)

    # -- global groups -----------------------------------------------------------------------
    # A global stage is a sort-based shuffle (curation/run/spill.py): collect writes one spill
    # file per shard, grouped by key partition; a round or combine call for partition p reads
    # only p's slice of each file; combine's decisions are spilled by shard, so an apply reads
    # only its own shard's slice of each decision file.
    def collect(self, group_index: int, shard: Shard, n_parts: int, position: tuple | None = None) -> dict:
        group = self.groups[group_index]
        stage = group.stages[0]
        op = self._op(stage)
        ctx = self._context(shard, position)
        tables = []
        for t in self._previous_output(group, shard):
            if t.num_rows:
                out = op.collect(t, ctx)
                ctx.advance(t.num_rows)
                if out.num_rows:
                    tables.append(out)
        if tables:
            rows = pa.concat_tables(tables, promote_options="permissive")
            if KEY not in rows.column_names:
                raise TypeError(f"{stage.name}.collect must return a '{KEY}' column")
            rows = rows.append_column(SHARD, pa.array(np.full(rows.num_rows, shard.index, np.int32)))
        else:
            rows = pa.table({KEY: pa.array([], pa.uint64()), SHARD: pa.array([], pa.int32())})
        spill.write(self.layout.fs, self.layout.collected(stage.name, shard.name), rows,
                    _parts(rows.column(KEY), n_parts), n_parts)
        return {"shard": shard.name, "rows": rows.num_rows}

    def _spill_source(self, stage: str, source: str, n_parts: int, n_shards: int) -> list[str]:
        return self.layout.spill_files(stage, source, n_shards if source == "collect" else n_parts)

    def iterate(self, group_index: int, part: int, round_: int, n_parts: int, n_shards: int) -> dict:
        """One extra round (``GlobalOperator.iterate``) over a key partition of the previous
        round's rows (round 0: the collected rows); its rows are re-partitioned by their ``key``."""
        stage = self.groups[group_index].stages[0]
        op = self._op(stage)
        source = "collect" if round_ == 0 else f"round-{round_ - 1:03d}"
        rows = spill.read_part(self.layout.fs, self._spill_source(stage.name, source, n_parts, n_shards), part, n_parts)
        out, changed = op.iterate(rows, round_)
        if KEY not in out.column_names:
            raise TypeError(f"{stage.name}.iterate must return a '{KEY}' column")
        spill.write(self.layout.fs, self.layout.round_part(stage.name, round_, part), out,
                    _parts(out.column(KEY), n_parts), n_parts, meta={"changed": bool(changed)})
        return {"part": part, "rows": rows.num_rows, "out": out.num_rows, "changed": bool(changed)}

    def combine(self, group_index: int, part: int, source: str, n_parts: int, n_shards: int) -> dict:
        stage = self.groups[group_index].stages[0]
        op = self._op(stage)
        rows = spill.read_part(self.layout.fs, self._spill_source(stage.name, source, n_parts, n_shards), part, n_parts)
        decisions = op.combine(rows)
        path = self.layout.decision(stage.name, part)
        if SHARD in decisions.column_names:  # routed to shards: spilled by shard index
            to = decisions.column(SHARD).to_numpy(zero_copy_only=False)
            if len(to) and (to.min() < 0 or to.max() >= n_shards):
                raise ValueError(f"{stage.name}.combine routed a decision to a shard outside [0, {n_shards})")
            spill.write(self.layout.fs, path, decisions, to, n_shards, meta={"routed": True})
        else:  # broadcast: every apply reads all of it
            spill.write(self.layout.fs, path, decisions, np.zeros(decisions.num_rows, np.int64), 1,
                        meta={"routed": False})
        return {"part": part, "rows": rows.num_rows, "decisions": decisions.num_rows}

    def apply(self, group_index: int, shard: Shard, n_parts: int, position: tuple | None = None) -> dict:
        group = self.groups[group_index]
        stage = group.stages[0]
        op = self._op(stage)
        ctx = self._context(shard, position)
        decisions = load_decisions(self.layout, stage.name, n_parts, shard.index)

        def step(table: pa.Table) -> OpResult:
            res = op.apply(table, decisions, ctx)
            ctx.advance(table.num_rows)
            return res

        return self._run_chain(group, shard, [(stage.name, step)], (op, ctx) if op.writes_outputs else None)

    def _context(self, shard: Shard, position: tuple | None) -> ShardContext:
        """A fresh context for one shard's phase; ``position``: (docs before it, docs in all shards)
        when the operator ``wants_positions``."""
        before, total = position if position is not None else (None, None)
        return ShardContext(index=shard.index, name=shard.name, docs_before=before, docs_total=total, run=self.layout)


def _parts(keys, n: int) -> np.ndarray:
    """The key partition of each row: ``key mod n`` (keys are uint64 hashes)."""
    arr = keys.cast(pa.uint64()).to_numpy(zero_copy_only=False).astype(np.uint64)
    return (arr % np.uint64(n)).astype(np.int64)


def load_decisions(layout: RunLayout, stage: str, n_parts: int, shard_index: int | None = None,
                   stats: spill.SpillStats | None = None) -> pa.Table:
    """The decisions routed to one shard (its slice of each partition's decision file, plus any
    broadcast decisions), or all of them (``shard_index`` None), partitions in order."""
    fs = layout.fs
    paths = [layout.decision(stage, p) for p in range(n_parts)]
    if shard_index is None:
        return spill.read_all(fs, paths, stats)
    stats = stats if stats is not None else spill.SpillStats()
    tables = []
    for path in paths:
        with spill.SpillFile(fs, path, stats) as f:
            t = f.part(shard_index) if f.meta().get("routed") else f.all()
        if t is not None and t.num_rows:
            tables.append(t)
    if tables:
        return pa.concat_tables(tables, promote_options="permissive")
    return spill.unified_schema(fs, paths, stats).empty_table()
