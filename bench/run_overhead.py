"""What ``curate run`` costs per document around the extractor, in one process (issue 18): the
reader, and a shard's writes, on bench/extract_run.py's Parquet input.

Input: bench/extract_run.py's pages of ``--split`` (its loaders and ``write_input``: ~150 kB HTML
pages in an ``html`` column, row groups of ~512 KiB of HTML), ``--copies`` copies of each.

1. **Reader, columns against rows.** ``curation.io.sources.read_shard`` over every shard of the
   input with ``bench/pipelines/extract_only.yaml``'s input options, as the worker calls it: as
   shipped (row groups whose bodies are strings are read as columns,
   curation/io/readers/columnar.py), and with that path switched off in this process so that every
   row group goes row by row (``to_pylist``, per-row checks, ``Table.from_pylist``: the reader
   before the columnar path). Rounds alternate; the figure is each way's best round of process CPU
   time per document (median beside it). Both ways give equal batches (checked here each round).
2. **A shard's writes, by shard size.** What engine/worker.py ``_run_chain`` writes for a shard of
   the extract stage, with the same classes (``curation.run.commit``): the kept file (one
   ``StagedParquet`` batch per read batch), the ``read`` and ``extract`` rejected writers (empty:
   not committed), and the two stats files; the kept rows are the shard's documents with the html
   replaced by a text of ``--text-chars`` characters (5,750: the mean of the extract stage's output
   on the test split). Timed over all the shards of the plan at ``shard_max_bytes`` 1 MiB
   (pipelines/llama3.yaml) and 64 MiB (the engine's default): CPU-ms per shard and per document.

    .venv/bin/python bench/run_overhead.py [--split test] [--copies 1] [--rounds 5]
        [--data ../shared/data/html_extraction]

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402

from bench.extract_run import PIPELINE, bench_pages, write_input  # noqa: E402
from curation import schema  # noqa: E402
from curation.config import load_pipeline  # noqa: E402
from curation.io.readers import parquet as parquet_reader  # noqa: E402
from curation.io.sources import plan_shards, read_shard  # noqa: E402

SHARD_SIZES = {"1 MiB": 1 << 20, "64 MiB": 64 << 20}


def read_all(inp: Path, cfg, shard_max_bytes: int) -> list:
    return [b for s in plan_shards([str(inp)], shard_max_bytes, cfg.reader)
            for b in read_shard(s, cfg.batch_docs, cfg.max_record_bytes)]


def timed_read(inp: Path, cfg, columnar: bool) -> tuple[float, list]:
    shipped = parquet_reader.columnar_body
    if not columnar:
        parquet_reader.columnar_body = lambda table, options: False  # every row group row by row
    try:
        t0 = time.process_time()
        batches = read_all(inp, cfg, cfg.shard_max_bytes)
        return time.process_time() - t0, batches
    finally:
        parquet_reader.columnar_body = shipped


def same_batches(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x.docs.equals(y.docs) and x.rejected.equals(y.rejected) for x, y in zip(a, b))


def kept_view(docs: pa.Table, text_chars: int) -> pa.Table:
    """The extract stage's kept rows for these documents: the html dropped, a text in its place."""
    text = pa.array(["x" * text_chars] * docs.num_rows, pa.large_string())
    return docs.drop_columns([schema.HTML, schema.TEXT]).append_column(schema.TEXT, text)


def write_shards(shards: list[list[pa.Table]], root: str) -> None:
    """engine/worker.py _run_chain's writes for each shard (its batches' kept tables)."""
    from curation.engine.worker import STATS_SCHEMA
    from curation.run.commit import StagedParquet, write_table_atomic

    fs = pafs.LocalFileSystem()
    for i, batches in enumerate(shards):
        name = f"part-{i:05d}.parquet"
        rejected = {s: StagedParquet(fs, f"{root}/rejected/{s}/{name}") for s in ("read", "extract")}
        kept = StagedParquet(fs, f"{root}/01-extract/{name}")
        for table in batches:
            for w in rejected.values():
                w.write(table.slice(0, 0))
            kept.write(table)
        for w in rejected.values():
            w.commit(write_empty=False)
        for s in ("read", "extract"):
            n = sum(t.num_rows for t in batches)
            row = pa.Table.from_pylist([dict(stage=s, shard=name, docs_in=n, docs_kept=n, docs_rejected=0,
                                             seconds=0.0)], schema=STATS_SCHEMA)
            write_table_atomic(fs, row, f"{root}/stats/{s}/{name}")
        kept.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["dev", "test", "all"])
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--text-chars", type=int, default=5750)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "html_extraction")
    args = ap.parse_args()

    pages = bench_pages(args.data, args.split)
    work = Path(tempfile.mkdtemp(prefix="run-overhead-"))
    try:
        inp = work / "input"
        docs = write_input(pages, args.copies, inp)
        cfg = load_pipeline(PIPELINE, []).input
        print(f"{len(pages)} pages x{args.copies}: {docs} documents; input options of {PIPELINE.name}")

        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.rounds):
            rows_s, by_rows = timed_read(inp, cfg, columnar=False)
            cols_s, by_cols = timed_read(inp, cfg, columnar=True)
            if not same_batches(by_rows, by_cols):
                raise SystemExit("the columnar and the row-by-row reader gave different batches")
            times[False].append(rows_s)
            times[True].append(cols_s)
        ms = {k: 1000 * min(v) / docs for k, v in times.items()}
        med = {k: 1000 * statistics.median(v) / docs for k, v in times.items()}
        print(f"reader, row by row: {ms[False]:.3f} CPU-ms/doc (median {med[False]:.3f}); as columns: "
              f"{ms[True]:.3f} (median {med[True]:.3f}); rows/columns {ms[False] / ms[True]:.2f}x "
              f"(best of {args.rounds} alternating rounds)")

        writes = {}
        for label, size in SHARD_SIZES.items():
            shards = [[kept_view(b.docs, args.text_chars) for b in read_shard(s, cfg.batch_docs, cfg.max_record_bytes)]
                      for s in plan_shards([str(inp)], size, cfg.reader)]
            best = None
            for _ in range(args.rounds):
                root = tempfile.mkdtemp(dir=work)
                t0 = time.process_time()
                write_shards(shards, root)
                t = time.process_time() - t0
                shutil.rmtree(root)
                best = t if best is None else min(best, t)
            writes[label] = {"shards": len(shards), "docs_per_shard": round(docs / len(shards), 1),
                             "cpu_ms_per_shard": round(1000 * best / len(shards), 3),
                             "cpu_ms_per_doc": round(1000 * best / docs, 3)}
            w = writes[label]
            print(f"writes, {label} shards: {w['shards']} shards ({w['docs_per_shard']} docs each): "
                  f"{w['cpu_ms_per_shard']:.2f} CPU-ms/shard, {w['cpu_ms_per_doc']:.3f} CPU-ms/doc")
        print(json.dumps({"split": args.split, "docs": docs, "reader_rows_cpu_ms": round(ms[False], 3),
                          "reader_columns_cpu_ms": round(ms[True], 3),
                          "reader_rows_over_columns": round(ms[False] / ms[True], 2), "writes": writes}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
