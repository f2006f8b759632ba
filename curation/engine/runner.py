"""Run a pipeline on Ray: the only module of the engine that imports Ray.

Execution model (chosen by ``bench/scaling.py``; see README): one long-lived actor per worker,
each holding a :class:`~curation.engine.worker.ShardWorker` so operators (and models) are set up
once per worker; the driver hands out one shard at a time to whichever actor is free. Map groups
run shard by shard; a global group runs collect (per shard) -> combine (per key partition) ->
apply (per shard). Anything already committed is skipped, so re-running a crashed run resumes.
Actors restart when their process dies and the interrupted call is retried (``max_restarts``,
``max_task_retries``); an exception raised by an operator is not retried: it stops the run with
the stage and shard named.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass

from curation.config import PipelineConfig
from curation.engine.layout import RunLayout
from curation.engine.plan import Group, build_operator, plan_groups
from curation.engine.progress import StageProgress
from curation.engine.worker import ShardWorker
from curation.io.sources import READ_STAGE, Shard, file_size, plan_shards
from curation.operators import operator_class

#: Key partitions of a global stage per GiB of its input (at least ``MIN_PARTS``): bounds the rows a
#: combine call holds. Derived from the input size only, so the output never depends on workers.
PARTS_PER_GIB = 8
MIN_PARTS = 4
#: On an error, how long to wait for the shards already running to commit before stopping.
DRAIN_TIMEOUT_S = 600


class RunError(RuntimeError):
    pass


@dataclass
class RunOptions:
    workers: int | None = None
    address: str | None = None
    progress: bool = True
    #: Print Ray's and the workers' logs instead of writing them to ``<output>/logs/run.log``.
    verbose: bool = False
    #: Test hook: ``crash:<stage>:<shard index>`` or ``kill:<stage>:<shard index>``.
    fault: str | None = None


def _versions() -> dict:
    import importlib.metadata as md

    out = {}
    for pkg in ("curation", "ray", "pyarrow", "trafilatura", "resiliparse", "fastwarc", "duckdb"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    out["python"] = sys.version.split()[0]
    return out


def _run_record(cfg: PipelineConfig, inputs: list[str], shards: list[Shard]) -> dict:
    return {
        "pipeline": cfg.name,
        "config": cfg.model_dump(mode="json"),
        "inputs": [os.path.abspath(p) for p in inputs],
        "shards": [s.name for s in shards],
        "stages": [READ_STAGE] + [s.name for s in cfg.stages],
        "groups": [{"name": g.name, "kind": g.kind, "stages": g.stage_names} for g in plan_groups(cfg)],
        "versions": _versions(),
    }


def _check_or_write_run_json(layout: RunLayout, record: dict) -> bool:
    """Write run.json; if the folder already holds a run, it must be the same run (resume)."""
    path = layout.run_json()
    if path.exists():
        old = json.loads(path.read_text())
        for key in ("config", "inputs", "shards"):
            if old.get(key) != record.get(key):
                raise RunError(
                    f"{layout.root} already holds a different run ({key} differs); "
                    "choose a new --output or delete the folder"
                )
        return True
    layout.root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return False


def _init_ray(opts: RunOptions, root):
    from curation.engine.cluster import log_path, start

    return start(opts.address, opts.workers, log_path(root), verbose=opts.verbose)


def run_pipeline(cfg: PipelineConfig, inputs: list[str], output: str, opts: RunOptions | None = None) -> RunLayout:
    opts = opts or RunOptions()
    layout = RunLayout(output)
    shards = plan_shards(inputs, cfg.input.shard_max_bytes)
    resumed = _check_or_write_run_json(layout, _run_record(cfg, inputs, shards))
    if resumed:
        _remove_stale_temporaries(layout)
    groups = plan_groups(cfg)
    cluster = _init_ray(opts, layout.root)
    ray = cluster.ray
    try:
        resources = ray.cluster_resources()
        workers = opts.workers or max(1, int(resources.get("CPU", 1)))
        workers = max(1, min(workers, len(shards) or 1))
        gpus = int(resources.get("GPU", 0))
        config = cfg.model_dump(mode="json")
        pools = _Pools(ray, config, str(layout.root), opts.fault, workers, min(gpus, len(shards) or 1))
        if opts.progress:
            print(f"curation: {len(shards)} shards, {workers} workers"
                  + (f" (+{pools.gpu_workers} GPU workers for model stages)" if pools.gpu_workers else "")
                  + f" -> {layout.root}" + (" (resuming)" if resumed else ""), file=sys.stderr)
        try:
            for group in groups:
                pool = pools.for_group(group)
                if group.kind == "map":
                    _run_map_group(ray, pool, layout, group, shards, opts)
                else:
                    _run_global_group(ray, pool, layout, group, shards, cfg, opts)
                    _finalize_global(layout, group)
                ray.get([a.release.remote(group.index) for a in pool])
        finally:
            pools.kill()
        shutil.rmtree(layout.root / "_work", ignore_errors=True)
    finally:
        cluster.stop()
    return layout


class _Pools:
    """Long-lived worker actors: a CPU pool for every group, and - only when the cluster has GPUs -
    a pool with one GPU per actor for groups holding a model-bearing operator (``uses_model``)."""

    def __init__(self, ray, config: dict, root: str, fault: str | None, cpu_workers: int, gpu_workers: int):
        self.ray = ray
        self.args = (config, root, fault)
        self.cpu_workers = cpu_workers
        self.gpu_workers = gpu_workers
        self.cpu: list = []
        self.gpu: list = []

    def _start(self, n: int, **resources) -> list:
        actor = self.ray.remote(ShardWorker).options(max_restarts=-1, max_task_retries=3, **resources)
        return [actor.remote(*self.args) for _ in range(n)]

    def for_group(self, group: Group) -> list:
        if self.gpu_workers and any(operator_class(s.op).uses_model for s in group.stages):
            if not self.gpu:
                self.gpu = self._start(self.gpu_workers, num_cpus=1, num_gpus=1)
            return self.gpu
        if not self.cpu:
            self.cpu = self._start(self.cpu_workers, num_cpus=1)
        return self.cpu

    def kill(self) -> None:
        for a in self.cpu + self.gpu:
            self.ray.kill(a)


def _finalize_global(layout: RunLayout, group: Group) -> None:
    """Optional driver-side last step of a global stage, after every shard is applied: an operator
    with ``finalize(run_root, kept_dir, work_dir)`` writes run-level files (``mix``: manifest.json)."""
    op = build_operator(group.stages[0])
    if hasattr(op, "finalize"):
        op.finalize(layout.root, layout.kept_dir(group.name), layout.work(group.stages[0].name))


def _dispatch(ray, pool, calls, progress: StageProgress, what: str):
    """Run ``calls`` (a list of (label, method name, args)) on the actor pool, one at a time each."""
    pending = list(calls)
    running: dict = {}
    idle = list(pool)
    results = []
    while pending or running:
        while idle and pending:
            actor = idle.pop()
            label, method, args = pending.pop(0)
            running[getattr(actor, method).remote(*args)] = (actor, label)
        done, _ = ray.wait(list(running), num_returns=1)
        ref = done[0]
        actor, label = running.pop(ref)
        try:
            result = ray.get(ref)
        except Exception as e:  # an operator raised: stop, naming where
            cause = getattr(e, "cause", None) or e
            _drain(ray, running)
            raise RunError(f"{what} failed on {label}: {type(cause).__name__}: {cause}") from e
        idle.append(actor)
        results.append(result)
        # documents entering the group (its first stage's docs_in): summing every fused stage would count each twice
        docs = next(iter(result["stages"].values()))[0] if result.get("stages") else 0
        progress.advance(1, docs)
    progress.close()
    return results


def _drain(ray, running: dict, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Before stopping on an error, let the shards already in flight finish and commit, so the
    re-run has less to redo; their own errors are ignored here (the first one is reported)."""
    if running:
        ray.wait(list(running), num_returns=len(running), timeout=timeout_s)


def _remove_stale_temporaries(layout: RunLayout) -> int:
    """Temporary files are never part of a committed shard: any left by a crashed run go."""
    stale = [p for p in layout.root.rglob(".tmp-*") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


def _todo(layout: RunLayout, group: Group, shards: list[Shard]) -> list[Shard]:
    """Shards not yet committed for ``group``, largest input first: handing out the big ones
    early keeps every worker busy until the end (the longest-processing-time-first rule). Output
    never depends on this order - shards are named, and each is written whole."""
    todo = [s for s in shards if not layout.kept(group.name, s.name).exists()]
    return sorted(todo, key=lambda s: (-_input_bytes(layout, group, s), s.index))


def _input_bytes(layout: RunLayout, group: Group, shard: Shard) -> int:
    """Bytes a shard brings to ``group``: its input files, or the previous group's output
    (group ``i`` writes ``<i+1:02d>-<stage>/``, so group ``i``'s input folder is ``<i:02d>-*``)."""
    if group.reads_input:
        return sum(file_size(p.path) for p in shard.parts)  # 0 for a dangling symlink
    return sum(f.stat().st_size for f in layout.root.glob(f"{group.index:02d}-*/{shard.name}.parquet"))


def _run_map_group(ray, pool, layout, group: Group, shards, opts):
    todo = _todo(layout, group, shards)
    label = "+".join(([READ_STAGE] if group.reads_input else []) + group.stage_names)
    progress = StageProgress(label, len(shards), len(shards) - len(todo), enabled=opts.progress, run_dir=layout.root)
    calls = [(f"shard {s.name}", "run_map", (group.index, s)) for s in todo]  # the worker's error names the file
    _dispatch(ray, pool, calls, progress, f"stage {label}")


def _run_global_group(ray, pool, layout, group: Group, shards, cfg: PipelineConfig, opts):
    todo = _todo(layout, group, shards)
    if not todo:
        StageProgress(group.stage_names[0], len(shards), len(shards), enabled=opts.progress, run_dir=layout.root).close()
        return
    stage = group.stages[0].name
    work = layout.work(stage)
    previous = plan_groups(cfg)[group.index - 1]
    in_bytes = sum(f.stat().st_size for f in layout.kept_dir(previous.name).glob("part-*.parquet"))
    n_parts = max(MIN_PARTS, int(PARTS_PER_GIB * in_bytes / (1 << 30)) + 1)
    meta = work / "parts.json"
    if meta.exists():
        n_parts = json.loads(meta.read_text())["parts"]
    else:
        work.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"parts": n_parts}))
    op_cls = operator_class(group.stages[0].op)
    pos = _positions(layout, previous, shards) if op_cls.wants_positions else {}
    need_collect = [s for s in shards if not (work / "collect" / f"{s.name}.parquet").exists()]
    p = StageProgress(f"{stage}:collect", len(shards), len(shards) - len(need_collect), enabled=opts.progress, run_dir=layout.root)
    _dispatch(ray, pool, [(f"shard {s.name}", "collect", (group.index, s, n_parts, pos.get(s.index)))
                          for s in need_collect], p, f"stage {stage} (collect)")
    source = "collect"
    for r in range(op_cls.max_rounds):  # optional extra rounds (GlobalOperator.iterate), until no change
        folder = work / f"round-{r:03d}"
        need = [i for i in range(n_parts) if not (folder / f"part-{i:05d}.parquet").exists()]
        p = StageProgress(f"{stage}:round {r}", n_parts, n_parts - len(need), enabled=opts.progress, run_dir=layout.root)
        _dispatch(ray, pool, [(f"partition {i}", "iterate", (group.index, i, r, n_parts)) for i in need],
                  p, f"stage {stage} (round {r})")
        source = folder.name
        if not any(_changed(folder / f"part-{i:05d}.parquet") for i in range(n_parts)):
            break
    else:
        if op_cls.max_rounds:
            raise RunError(f"stage {stage} did not converge in {op_cls.max_rounds} rounds")
    need_combine = [i for i in range(n_parts) if not (work / "decisions" / f"p-{i:05d}.parquet").exists()]
    p = StageProgress(f"{stage}:combine", n_parts, n_parts - len(need_combine), enabled=opts.progress, run_dir=layout.root)
    _dispatch(ray, pool, [(f"partition {i}", "combine", (group.index, i, source)) for i in need_combine],
              p, f"stage {stage} (combine)")
    p = StageProgress(f"{stage}:apply", len(shards), len(shards) - len(todo), enabled=opts.progress, run_dir=layout.root)
    _dispatch(ray, pool, [(f"shard {s.name}", "apply", (group.index, s, pos.get(s.index))) for s in todo],
              p, f"stage {stage} (apply)")


def _changed(path) -> bool:
    import pyarrow.parquet as pq

    return (pq.read_schema(path).metadata or {}).get(b"changed", b"1") != b"0"


def _positions(layout: RunLayout, previous: Group, shards: list[Shard]) -> dict[int, tuple[int, int]]:
    """Per shard index: (documents in the shards before it, documents in all shards) of the
    stage's input, from the Parquet footers of the previous group's output."""
    import pyarrow.parquet as pq

    counts = [(s.index, pq.ParquetFile(layout.kept(previous.name, s.name)).metadata.num_rows)
              for s in sorted(shards, key=lambda s: s.index)]
    total = sum(c for _, c in counts)
    out, before = {}, 0
    for index, c in counts:
        out[index] = (before, total)
        before += c
    return out
