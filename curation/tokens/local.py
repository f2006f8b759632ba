"""The ``tokenize`` stage's phases in one process, over in-memory shards (no Ray, no pipeline run):
collect per shard and batch, combine per ``key mod parts`` partition, apply per shard, finalize -
the same calls, in the same order, as the engine makes. For tests and benchmarks that need token
shards of a few tables; a real run uses the engine (``curate run``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def tokenize_tables(run: str | Path, shards: list[pa.Table], tokenizer: str, parts: int = 3, batch: int = 50,
                    seed: int = 0) -> dict:
    """Write ``run/tokens/`` for ``shards`` (tables with the mix stage's columns) and the manifest's
    ``tokens`` section; returns the section."""
    import shutil

    from curation.operators.tokenize import Tokenize

    run = Path(run)
    op = Tokenize({"tokenizer": str(tokenizer), "seed": seed})
    op.bind_run(run)
    op.setup()
    batches = [[s.slice(i, batch) for i in range(0, s.num_rows, batch)] for s in shards]
    collected = []
    for i, bs in enumerate(batches):
        op.begin_shard(i, 0, 0)
        collected += [op.collect(b) for b in bs]
    rows = pa.concat_tables(collected)
    part = rows.column("key").to_numpy() % np.uint64(parts)
    work = run / "_work" / "tokenize"
    (work / "decisions").mkdir(parents=True, exist_ok=True)
    for p in range(parts):
        pq.write_table(op.combine(rows.filter(pa.array(part == p))), work / "decisions" / f"p-{p:05d}.parquet")
    for i, bs in enumerate(batches):
        op.begin_shard(i, 0, 0)
        for b in bs:
            op.apply(b, pa.table({}))
    section = op.finalize(run, run, work)
    shutil.rmtree(run / "_work", ignore_errors=True)
    return section


def with_token_counts(table: pa.Table, tokenizer) -> pa.Table:
    """Set the ``tokens`` column to the tokenizer's counts (BOS and EOS included), as the mix stage does."""
    n = [len(x) for x in tokenizer.encode_batch([t or "" for t in table.column("text").to_pylist()])]
    if "tokens" in table.column_names:
        table = table.drop_columns(["tokens"])
    return table.append_column("tokens", pa.array(n, pa.int64()))
