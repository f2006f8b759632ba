"""Run a pipeline on Ray: the only module of the engine that imports Ray.

Execution model (chosen by ``bench/scaling.py``; see README): one long-lived actor per worker,
each holding a :class:`~curation.engine.worker.ShardWorker` so operators (and models) are set up
once per worker; the driver hands out one shard at a time to whichever actor is free. Map groups
run shard by shard; a global group runs collect (per shard) -> combine (per key partition) ->
apply (per shard). Anything already committed is skipped, so re-running a crashed run resumes.
An actor whose process or node dies is not restarted by Ray: the driver hands its call to a
live actor (at most ``MAX_CALL_RETRIES`` times, the reason printed) and starts a replacement
where the cluster has room, so the run goes on when the cluster shrinks. An exception raised by
an operator is not retried: it stops the run with the stage and shard named.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from curation.config import PipelineConfig
from curation.engine.plan import Group, plan_groups, ready_operator
from curation.engine.progress import StageProgress, start_run
from curation.engine.worker import ShardWorker, load_decisions
from curation.io import fs as fsx
from curation.io.sources import READ_STAGE, Shard, file_size
from curation.run.inputs import lineage, plan_inputs
from curation.operators import operator_class, user_module_paths
from curation.run import lock, manifest, record
from curation.run.commit import (committed, committed_names, read_json, remove_temporaries, write_bytes_atomic,
                                  write_json_atomic)
from curation.run import spill
from curation.run.layout import SPILL, RunLayout

#: Key partitions of a global stage per GiB of its input (at least ``MIN_PARTS``): bounds the rows a
#: combine call holds. Derived from the input size only, so the output never depends on workers;
#: the pipeline's ``shuffle: {partitions: N}`` overrides it.
PARTS_PER_GIB = 8
MIN_PARTS = 4
#: A call whose worker (actor or node) died is retried on a live worker at most this many times.
MAX_CALL_RETRIES = 3
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
        "inputs": [record.input_name(p) for p in inputs],
        **({"lineage": lineage(inputs)} if any("@" in p for p in inputs) else {}),
        "shards": [s.name for s in shards],
        "stages": [READ_STAGE] + [s.name for s in cfg.stages],
        "groups": [{"name": g.name, "kind": g.kind, "stages": g.stage_names} for g in plan_groups(cfg)],
        "versions": _versions(),
    }


def _check_or_write_run_json(layout: RunLayout, rec: dict) -> bool:
    """Write run.json; if the folder already holds a run, it must be the same run (resume)."""
    try:
        return record.write_or_check(layout, rec)
    except record.DifferentRunError as e:
        raise RunError(str(e)) from None


def _init_ray(opts: RunOptions, log_file: str):
    from curation.engine.cluster import start

    return start(opts.address, opts.workers, log_file, verbose=opts.verbose)


def _log_file(layout: RunLayout) -> str:
    """Where Ray's log goes while the run lives: the run folder's ``logs/run.log`` on a local disk;
    on an object store (no appends) a local temporary file, uploaded there when the run ends."""
    if layout.is_local:
        os.makedirs(layout.logs(), exist_ok=True)
        return layout.run_log()
    import tempfile

    fd, path = tempfile.mkstemp(prefix="curation-run-", suffix=".log")
    os.close(fd)
    return path


def _upload_log(layout: RunLayout, local: str) -> None:
    if layout.is_local or not os.path.exists(local):
        return
    with open(local, "rb") as fh:
        write_bytes_atomic(layout.fs, layout.run_log(), fh.read())
    os.unlink(local)


def run_pipeline(cfg: PipelineConfig, inputs: list[str], output: str, opts: RunOptions | None = None) -> RunLayout:
    opts = opts or RunOptions()
    layout = RunLayout(output)
    shards = plan_inputs(inputs, cfg.input.shard_max_bytes, cfg.input.reader)
    owner = lock.RunLock(layout)
    try:
        owner.acquire()
    except lock.LockedError as e:
        raise RunError(str(e)) from None
    try:
        if owner.recovered and opts.progress:
            print(f"curation: recovered the stale lock of a run that died ({lock.describe(owner.recovered)})",
                  file=sys.stderr)
        return _run_locked(cfg, inputs, layout, shards, opts)
    finally:
        owner.release()


def _run_locked(cfg: PipelineConfig, inputs: list[str], layout: RunLayout, shards: list[Shard],
                opts: RunOptions) -> RunLayout:
    resumed = _check_or_write_run_json(layout, _run_record(cfg, inputs, shards))
    if resumed:
        _remove_stale_temporaries(layout)
    groups = plan_groups(cfg)
    log_file = _log_file(layout)
    cluster = _init_ray(opts, log_file)
    ray = cluster.ray
    try:
        resources = ray.cluster_resources()
        workers = opts.workers or max(1, int(resources.get("CPU", 1)))
        workers = max(1, min(workers, len(shards) or 1))
        gpus = int(resources.get("GPU", 0))
        config = cfg.model_dump(mode="json")
        remote = not layout.is_local or any(not fsx.is_local(p) for p in inputs)
        pools = _Pools(ray, config, layout.uri, opts.fault, workers, min(gpus, len(shards) or 1),
                       {**(fsx.storage_env() if remote else {}), **_user_module_env(cfg)})
        if opts.progress:
            print(f"curation: {len(shards)} shards, {workers} workers"
                  + (f" (+{pools.gpu_workers} GPU workers for model stages)" if pools.gpu_workers else "")
                  + f" -> {layout.uri}" + (" (resuming)" if resumed else ""), file=sys.stderr)
        start_run(len(groups), enabled=opts.progress)
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
        fsx.delete_tree(layout.fs, layout.work_root())
    finally:
        cluster.stop()
        _upload_log(layout, log_file)
    return layout


class _ActorList(list):
    """A pool of actors, with ``replace()``: a new actor for a dead one, or None."""

    def __init__(self, actors, replace):
        super().__init__(actors)
        self.replace = replace


class _Pools:
    """Long-lived worker actors: a CPU pool for every group, and - only when the cluster has GPUs -
    a pool with one GPU per actor for groups whose stages declare ``num_gpus`` (fusion keeps a
    group's stages on the same resources: :func:`curation.engine.plan.plan_groups`)."""

    def __init__(self, ray, config: dict, root: str, fault: str | None, cpu_workers: int, gpu_workers: int,
                 env: dict | None = None):
        self.ray = ray
        self.env = env or {}
        self.args = (config, root, fault)
        self.cpu_workers = cpu_workers
        self.gpu_workers = gpu_workers
        self.cpu: list = []
        self.gpu: list = []

    def _start(self, n: int, **resources) -> list:
        if self.env:  # the driver's storage settings (endpoint, region, credentials) and user modules' folders
            resources["runtime_env"] = {"env_vars": self.env}
        # no restarts by Ray: a restarted actor waits for a CPU that a lost node took with it, and
        # its call is never handed to a live actor; _dispatch retries lost calls itself
        actor = self.ray.remote(ShardWorker).options(max_restarts=0, max_task_retries=0, **resources)
        need = {k: v for k, v in (("CPU", resources.get("num_cpus", 0)), ("GPU", resources.get("num_gpus", 0))) if v}

        def replace():
            """A new actor for a dead one, only where the cluster has room now (else the pool shrinks)."""
            free = self.ray.available_resources()
            if all(free.get(k, 0) >= v for k, v in need.items()):
                return actor.remote(*self.args)
            return None

        return _ActorList([actor.remote(*self.args) for _ in range(n)], replace)

    def for_group(self, group: Group) -> list:
        if self.gpu_workers and group.num_gpus:
            if not self.gpu:
                self.gpu = self._start(self.gpu_workers, num_cpus=1, num_gpus=1)
            return self.gpu
        if not self.cpu:
            self.cpu = self._start(self.cpu_workers, num_cpus=1)
        return self.cpu

    def kill(self) -> None:
        for a in self.cpu + self.gpu:
            self.ray.kill(a)


def _user_module_env(cfg: PipelineConfig) -> dict:
    """``PYTHONPATH`` for the workers when the pipeline names ``module:Class`` operators: the
    folders the driver imported those modules from, so a local (or shared-disk) cluster imports
    the same files. On a cluster without a shared disk, ``ray job submit --working-dir .`` ships
    the modules, and Ray puts the working directory on every worker's path."""
    paths = user_module_paths(s.op for s in cfg.stages)
    if not paths:
        return {}
    return {"PYTHONPATH": os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])}


def _finalize_global(layout: RunLayout, group: Group) -> None:
    """Optional driver-side last step of a global stage, after every shard is applied: an operator
    that ``writes_outputs`` gets ``finalize(summaries, decisions, run_uri)``, which merges the small per-shard summaries its apply
    step left (``mix``: the manifest; no corpus data is read here) and the run package writes it."""
    if not operator_class(group.stages[0].op).writes_outputs:
        return
    stage = group.stages[0].name
    if not fsx.exists(layout.fs, layout.decisions_dir(stage)) and manifest.exists(layout):
        return  # a finished run, re-run: nothing to redo
    op = ready_operator(group.stages[0], layout)  # set up on the driver too, before its hook
    names = committed_names(layout.fs, layout.kept_dir(group.name))
    summaries = [read_json(layout.fs, i.path)
                 for i in committed(layout.fs, layout.summaries_dir(stage), suffix=".json")
                 if fsx.basename(i.path)[: -len(".json")] in names]  # sorted by shard
    result = op.finalize(summaries, load_decisions(layout, stage, read_json(layout.fs, layout.parts_meta(stage))["parts"]),
                         layout.uri)
    manifest.merge(layout, result)  # the mix: a whole manifest; a later stage (tokenize): its sections


def _lost_worker(ray, e: BaseException) -> bool:
    """An actor (or its node) died under a call - not an operator's exception."""
    return isinstance(e, (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError))


def _dispatch(ray, pool, calls, progress: StageProgress, what: str):
    """Run ``calls`` (a list of (label, method name, args)) on the actor pool, one at a time each.

    A call whose actor died (the process was killed, or its node was lost) is handed to a live
    actor, at most ``MAX_CALL_RETRIES`` times, the reason printed; the dead actor leaves ``pool``
    (the list is shared with :class:`_Pools`) and ``replace()`` may start a new one where the
    cluster has room. Calls write under temporary names and commit by a rename, so nothing a
    dead actor half-wrote is read. An operator's exception stops the run, naming where."""
    pending = list(calls)
    running: dict = {}
    idle = list(pool)
    retries: dict[str, int] = {}
    results = []
    while pending or running:
        while idle and pending:
            actor = idle.pop()
            label, method, args = pending.pop(0)
            running[getattr(actor, method).remote(*args)] = (actor, (label, method, args))
        if not running:
            raise RunError(f"{what}: no live worker left in the cluster")
        done, _ = ray.wait(list(running), num_returns=1)
        ref = done[0]
        actor, call = running.pop(ref)
        label = call[0]
        try:
            result = ray.get(ref)
        except Exception as e:
            cause = getattr(e, "cause", None) or e
            if _lost_worker(ray, e) and retries.get(label, 0) < MAX_CALL_RETRIES:
                retries[label] = retries.get(label, 0) + 1
                print(f"curation: {what}: lost the worker running {label} ({type(e).__name__}); "
                      f"retrying on a live worker ({retries[label]}/{MAX_CALL_RETRIES})", file=sys.stderr, flush=True)
                if actor in pool:
                    pool.remove(actor)
                    fresh = pool.replace()
                    if fresh is not None:
                        idle.append(fresh)
                pending.insert(0, call)
                continue
            _drain(ray, running)
            progress.flush()  # the shards committed before the failure, whatever the throttle held back
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
    return remove_temporaries(layout.fs, layout.root)


def _todo(layout: RunLayout, group: Group, shards: list[Shard]) -> list[Shard]:
    """Shards not yet committed for ``group``, largest input first: handing out the big ones
    early keeps every worker busy until the end (the longest-processing-time-first rule). Output
    never depends on this order - shards are named, and each is written whole."""
    done = committed_names(layout.fs, layout.kept_dir(group.name))
    todo = [s for s in shards if s.name not in done]
    sizes = _input_sizes(layout, group, todo)
    return sorted(todo, key=lambda s: (-sizes.get(s.name, 0), s.index))


def _input_sizes(layout: RunLayout, group: Group, shards: list[Shard]) -> dict[str, int]:
    """Bytes each shard brings to ``group``: its input files, or the previous group's output."""
    if not shards:
        return {}
    if group.reads_input:
        return {s.name: sum(file_size(p.path) for p in s.parts) for s in shards}
    prev = RunLayout.group_dir_name(group.index - 1, _previous_last_stage(layout, group))
    return {_shard_of(i.path): i.size for i in committed(layout.fs, layout.kept_dir(prev))}


def _previous_last_stage(layout: RunLayout, group: Group) -> str:
    from curation.run.layout import GROUP_DIR

    for name, stage in layout.group_dirs():
        if int(GROUP_DIR.match(name).group(1)) == group.index:
            return stage
    return "read"


def _shard_of(path: str) -> str:
    return path.rsplit("/", 1)[-1][: -len(".parquet")]


def _run_map_group(ray, pool, layout, group: Group, shards, opts):
    todo = _todo(layout, group, shards)
    label = "+".join(([READ_STAGE] if group.reads_input else []) + group.stage_names)
    progress = StageProgress(label, len(shards), len(shards) - len(todo), enabled=opts.progress, layout=layout)
    calls = [(f"shard {s.name}", "run_map", (group.index, s)) for s in todo]  # the worker's error names the file
    _dispatch(ray, pool, calls, progress, f"stage {label}")


def _run_global_group(ray, pool, layout, group: Group, shards, cfg: PipelineConfig, opts):
    todo = _todo(layout, group, shards)
    if not todo:
        StageProgress(group.stage_names[0], len(shards), len(shards), enabled=opts.progress, layout=layout).close()
        return
    stage = group.stages[0].name
    fs = layout.fs
    previous = plan_groups(cfg)[group.index - 1]
    in_bytes = sum(i.size for i in committed(fs, layout.kept_dir(previous.name)))
    n_parts = cfg.shuffle.partitions or max(MIN_PARTS, int(PARTS_PER_GIB * in_bytes / (1 << 30)) + 1)
    meta = layout.parts_meta(stage)
    if fsx.exists(fs, meta):
        n_parts = read_json(fs, meta)["parts"]
    else:
        write_json_atomic(fs, meta, {"parts": n_parts})
    op_cls = operator_class(group.stages[0].op)
    pos = _positions(layout, previous, shards) if op_cls.wants_positions else {}
    n_shards = len(shards)
    collected = committed_names(fs, layout.collect_dir(stage), SPILL)
    need_collect = [s for s in shards if s.name not in collected]
    p = StageProgress(f"{stage}:collect", len(shards), len(shards) - len(need_collect), enabled=opts.progress, layout=layout)
    _dispatch(ray, pool, [(f"shard {s.name}", "collect", (group.index, s, n_parts, pos.get(s.index)))
                          for s in need_collect], p, f"stage {stage} (collect)")
    source = "collect"
    for r in range(op_cls.max_rounds):  # optional extra rounds (GlobalOperator.iterate), until no change
        folder = layout.round_dir(stage, r)
        have = committed_names(fs, folder, SPILL)
        need = [i for i in range(n_parts) if fsx.basename(layout.round_part(stage, r, i))[: -len(SPILL)] not in have]
        p = StageProgress(f"{stage}:round {r}", n_parts, n_parts - len(need), enabled=opts.progress, layout=layout)
        results = _dispatch(ray, pool, [(f"partition {i}", "iterate", (group.index, i, r, n_parts, n_shards))
                                        for i in need], p, f"stage {stage} (round {r})")
        source = fsx.basename(folder)
        # the calls just made say whether they changed anything; parts done before a resume, their file's header
        ran = {res["part"]: res["changed"] for res in results}
        if not any(ran[i] if i in ran else _changed(layout, layout.round_part(stage, r, i)) for i in range(n_parts)):
            break
    else:
        if op_cls.max_rounds:
            raise RunError(f"stage {stage} did not converge in {op_cls.max_rounds} rounds")
    decided = {i.path for i in committed(fs, layout.decisions_dir(stage), prefix="p-", suffix=SPILL)}
    need_combine = [i for i in range(n_parts) if layout.decision(stage, i) not in decided]
    p = StageProgress(f"{stage}:combine", n_parts, n_parts - len(need_combine), enabled=opts.progress, layout=layout)
    _dispatch(ray, pool, [(f"partition {i}", "combine", (group.index, i, source, n_parts, n_shards))
                          for i in need_combine], p, f"stage {stage} (combine)")
    p = StageProgress(f"{stage}:apply", len(shards), len(shards) - len(todo), enabled=opts.progress, layout=layout)
    _dispatch(ray, pool, [(f"shard {s.name}", "apply", (group.index, s, n_parts, pos.get(s.index))) for s in todo],
              p, f"stage {stage} (apply)")


def _changed(layout: RunLayout, path: str) -> bool:
    return bool(spill.read_meta(layout.fs, path).get("changed", True))


def _positions(layout: RunLayout, previous: Group, shards: list[Shard]) -> dict[int, tuple[int, int]]:
    """Per shard index: (documents in the shards before it, documents in all shards) of the
    stage's input, from the Parquet footers of the previous group's output."""
    import pyarrow.parquet as pq

    counts = [(s.index, pq.ParquetFile(layout.kept(previous.name, s.name), filesystem=layout.fs).metadata.num_rows)
              for s in sorted(shards, key=lambda s: s.index)]
    total = sum(c for _, c in counts)
    out, before = {}, 0
    for index, c in counts:
        out[index] = (before, total)
        before += c
    return out
