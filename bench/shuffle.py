"""The shuffle of global stages at scale: synthetic collect rows through collect -> combine -> apply.

    .venv/bin/python bench/shuffle.py [--shards 1000] [--parts 4096] [--rows 20000000] [--procs 2]
                                      [--baseline] [--out DIR]

Each shard (a map task) spills ``rows / shards`` rows (``key`` uint64, ``_shard`` int32, ``value``
int64; keys uniform, so a partition gets ``rows / parts`` rows). A combine call for partition p
reads p's rows from every shard's spill file and writes one decision per row, routed to its shard;
an apply call for shard s reads s's decisions from every partition's decision file. This is the
engine's code: ``curation.run.spill`` (what ``ShardWorker.collect/iterate/combine`` write and
read) and ``curation.engine.worker.load_decisions``.

``--baseline`` runs the shuffle we replaced in the same run, on the same rows: one Parquet file per
shard holding every partition in one row group, each combine scanning every file with a filter on
``_part`` (``pyarrow.dataset``), each apply reading every decision file with a filter on
``_shard``.

Per phase it prints: wall seconds; CPU seconds of the process tree (driver + its ``--procs``
worker processes, a fresh pool per phase); bytes written (the sizes of the files the phase
wrote); bytes read (``rchar`` of ``/proc/<pid>/io`` of every worker: every byte a read call
returned, page cache included); files opened (``open_input_file``/``open_input_stream`` on the
filesystem, counted by a wrapping ``pyarrow.fs.PyFileSystem``); and the peak RSS of a worker
(``ru_maxrss``). ``read/written`` is the phase's bytes read over the bytes the phase before it
wrote (combine: the collect spill; apply: the decisions). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.engine.worker import load_decisions  # noqa: E402  (imported before the pools fork)
from curation.run import spill  # noqa: E402


class CountingHandler(pafs.FileSystemHandler):
    """The local filesystem, counting the files opened for reading."""

    def __init__(self):
        self.fs = pafs.LocalFileSystem()
        self.opened = 0

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def get_type_name(self):
        return "counting"

    def normalize_path(self, path):
        return path

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def create_dir(self, path, recursive):
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        raise NotImplementedError

    def delete_file(self, path):
        self.fs.delete_file(path)

    def move(self, src, dest):
        self.fs.move(src, dest)

    def copy_file(self, src, dest):
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path):
        self.opened += 1
        return self.fs.open_input_stream(path)

    def open_input_file(self, path):
        self.opened += 1
        return self.fs.open_input_file(path)

    def open_output_stream(self, path, metadata):
        return self.fs.open_output_stream(path)

    def open_append_stream(self, path, metadata):
        return self.fs.open_append_stream(path)


_HANDLER: CountingHandler | None = None
_FS: pafs.FileSystem | None = None


def _fs() -> tuple[CountingHandler, pafs.FileSystem]:
    global _HANDLER, _FS
    if _FS is None:
        _HANDLER = CountingHandler()
        _FS = pafs.PyFileSystem(_HANDLER)
    return _HANDLER, _FS


def _rchar() -> int:
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def _measured(fn, args):
    handler, fs = _fs()
    opened, r0 = handler.opened, _rchar()
    written = fn(fs, *args)
    return {"read": _rchar() - r0, "opened": handler.opened - opened, "written": written,
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _rows(shard: int, n: int) -> pa.Table:
    rng = np.random.default_rng(shard)
    return pa.table({"key": pa.array(rng.integers(0, 2**64 - 1, n, dtype=np.uint64)),
                     "_shard": pa.array(np.full(n, shard, np.int32)),
                     "value": pa.array(rng.integers(0, 1 << 20, n, dtype=np.int64))})


def _decide(rows: pa.Table) -> pa.Table:
    """One decision per row: keep the row when its key's low bit is 0 (a stand-in for dedup)."""
    keys = rows.column("key").to_numpy()
    return pa.table({"key": rows.column("key"), "_shard": rows.column("_shard"),
                     "keep": pa.array((keys & np.uint64(1)) == 0)})


def _size(path: str) -> int:
    return os.path.getsize(path)


# -- the new shuffle (the engine's) ------------------------------------------------------------
def new_collect(fs, root, shard, n, n_parts):
    t = _rows(shard, n)
    parts = (t.column("key").to_numpy() % np.uint64(n_parts)).astype(np.int64)
    return spill.write(fs, f"{root}/collect/part-{shard:05d}.spill", t, parts, n_parts)


def new_combine(fs, root, part, n_parts, n_shards):
    paths = [f"{root}/collect/part-{i:05d}.spill" for i in range(n_shards)]
    d = _decide(spill.read_part(fs, paths, part, n_parts))
    return spill.write(fs, f"{root}/decisions/p-{part:05d}.spill", d, d.column("_shard").to_numpy().astype(np.int64),
                       n_shards, meta={"routed": True})


def new_apply(fs, root, shard, n_parts, n_shards):
    class _Layout:  # load_decisions needs only the filesystem and the decision file names
        def __init__(self):
            self.fs = fs

        def decision(self, stage, p):
            return f"{root}/decisions/p-{p:05d}.spill"

    d = load_decisions(_Layout(), "bench", n_parts, shard)
    assert d.num_rows == 0 or set(d.column("_shard").to_numpy().tolist()) == {shard}
    return 0


# -- the shuffle we replaced -------------------------------------------------------------------
def old_collect(fs, root, shard, n, n_parts):
    t = _rows(shard, n)
    t = t.append_column("_part", pa.array((t.column("key").to_numpy() % np.uint64(n_parts)).astype(np.int32)))
    t = t.sort_by([("_part", "ascending")])
    path = f"{root}/old-collect/part-{shard:05d}.parquet"
    pq.write_table(t, path, compression="zstd", filesystem=fs)
    return _size(path)


def _old_dataset(fs, files):
    unified = pa.unify_schemas([pq.read_schema(f, filesystem=fs) for f in files], promote_options="permissive")
    return ds.dataset(files, schema=unified, format="parquet", filesystem=fs)


def old_combine(fs, root, part, n_parts, n_shards):
    files = [f"{root}/old-collect/part-{i:05d}.parquet" for i in range(n_shards)]
    rows = _old_dataset(fs, files).to_table(filter=ds.field("_part") == part).drop_columns(["_part"])
    d = _decide(rows).sort_by([("_shard", "ascending")])
    path = f"{root}/old-decisions/p-{part:05d}.parquet"
    pq.write_table(d, path, compression="zstd", filesystem=fs)
    return _size(path)


def old_apply(fs, root, shard, n_parts, n_shards):
    files = [f"{root}/old-decisions/p-{p:05d}.parquet" for p in range(n_parts)]
    _old_dataset(fs, files).to_table(filter=ds.field("_shard") == shard)
    return 0


def _phase(name: str, fn, calls: list[tuple], procs: int) -> dict:
    t0, c0 = time.perf_counter(), os.times()
    with mp.get_context("fork").Pool(procs) as pool:
        got = pool.map(functools.partial(_measured, fn), calls, chunksize=max(1, len(calls) // (procs * 8)))
    wall = time.perf_counter() - t0
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) \
        + (c1.children_system - c0.children_system)
    out = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "written": sum(g["written"] for g in got),
           "read": sum(g["read"] for g in got), "files_opened": sum(g["opened"] for g in got),
           "peak_worker_rss_mib": round(max(g["rss"] for g in got) / 2**20, 1), "calls": len(calls)}
    print(f"  {name:<14} {out['wall_s']:8.2f} s wall {out['cpu_s']:8.2f} s cpu  written {out['written']:>13,}  "
          f"read {out['read']:>14,}  files opened {out['files_opened']:>10,}  peak worker RSS "
          f"{out['peak_worker_rss_mib']} MiB", flush=True)
    return out


def _shuffle(kind: str, root: str, shards: int, parts: int, rows: int, procs: int) -> dict:
    collect, combine, apply = {"new": (new_collect, new_combine, new_apply),
                               "old": (old_collect, old_combine, old_apply)}[kind]
    sub = "" if kind == "new" else "old-"
    for d in (f"{sub}collect", f"{sub}decisions"):
        os.makedirs(f"{root}/{d}", exist_ok=True)
    per = [rows // shards + (1 if i < rows % shards else 0) for i in range(shards)]
    print(f"{kind} shuffle: {shards} shards x {parts} partitions, {rows:,} rows, {procs} processes", flush=True)
    res = {"collect": _phase("collect", collect, [(root, i, per[i], parts) for i in range(shards)], procs)}
    res["combine"] = _phase("combine", combine, [(root, p, parts, shards) for p in range(parts)], procs)
    res["apply"] = _phase("apply", apply, [(root, s, parts, shards) for s in range(shards)], procs)
    res["combine"]["read_over_written"] = round(res["combine"]["read"] / res["collect"]["written"], 3)
    res["apply"]["read_over_written"] = round(res["apply"]["read"] / max(1, res["combine"]["written"]), 3)
    print(f"  read/written: combine {res['combine']['read_over_written']}, apply {res['apply']['read_over_written']}",
          flush=True)
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", type=int, default=1000)
    ap.add_argument("--parts", type=int, default=4096)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--baseline", action="store_true", help="also run the shuffle we replaced, on the same rows")
    ap.add_argument("--out", help="work folder (default: a temporary folder, removed at the end)")
    args = ap.parse_args(argv)
    root = args.out or tempfile.mkdtemp(prefix="bench-shuffle-")
    try:
        result = {"shards": args.shards, "parts": args.parts, "rows": args.rows, "procs": args.procs,
                  "new": _shuffle("new", root, args.shards, args.parts, args.rows, args.procs)}
        if args.baseline:
            result["old"] = _shuffle("old", root, args.shards, args.parts, args.rows, args.procs)
            result["old_over_new"] = {ph: {k: round(result["old"][ph][k] / max(1e-9, result["new"][ph][k]), 2)
                                           for k in ("wall_s", "cpu_s", "read", "files_opened")}
                                      for ph in ("combine", "apply")}
            print("old/new: " + ", ".join(f"{ph} wall {v['wall_s']}x read {v['read']}x"
                                          for ph, v in result["old_over_new"].items()), flush=True)
    finally:
        if not args.out:
            shutil.rmtree(root, ignore_errors=True)
    headline = {"shards": args.shards, "parts": args.parts, "rows": args.rows,
                "read_over_written": {ph: result["new"][ph]["read_over_written"] for ph in ("combine", "apply")},
                "wall_s": {ph: result["new"][ph]["wall_s"] for ph in ("collect", "combine", "apply")},
                "files_opened": {ph: result["new"][ph]["files_opened"] for ph in ("combine", "apply")},
                "peak_worker_rss_mib": max(result["new"][ph]["peak_worker_rss_mib"] for ph in ("collect", "combine", "apply"))}
    if args.baseline:
        headline["old_read_over_written"] = {ph: result["old"][ph]["read_over_written"] for ph in ("combine", "apply")}
        headline["old_over_new"] = result["old_over_new"]
    print(json.dumps(headline))
    return result


if __name__ == "__main__":
    main()
