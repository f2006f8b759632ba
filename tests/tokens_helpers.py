"""Drive the ``tokenize`` operator's phases in one process (no Ray), as the engine would: collect
per shard and batch, combine per ``key mod P`` partition, apply per shard, finalize. For tests that
need a token run without a pipeline run (the trainer's, the format's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def tokenize_locally(run: Path, shards: list[pa.Table], tokenizer: str, parts: int = 3, batch: int = 50,
                     seed: int = 0) -> dict:
    from curation.operators.tokenize import Tokenize

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
    return op.finalize(run, run, work)


def with_token_counts(table: pa.Table, tokenizer) -> pa.Table:
    """Replace ``tokens`` by the tokenizer's counts (as the mix stage writes them)."""
    n = [len(x) for x in tokenizer.encode_batch(table.column("text").to_pylist())]
    if "tokens" in table.column_names:
        table = table.drop_columns(["tokens"])
    return table.append_column("tokens", pa.array(n, pa.int64()))
