"""The ``tokenize`` stage's phases in one process, over in-memory shards (no Ray, no pipeline run):
collect per shard and batch, combine per ``key mod parts`` partition, apply per shard and batch,
the shard's token files at its end, finalize - the same calls, in the same order, as the engine
makes, with the files written through the run package as the engine writes them. For tests and
benchmarks that need token shards of a few tables; a real run uses the engine (``curate run``)."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa


def tokenize_tables(run: str | os.PathLike, shards: list[pa.Table], tokenizer: str, parts: int = 3,
                    batch: int = 50, seed: int = 0) -> dict:
    """Write ``run``'s ``tokens/`` (a local path or a URI) for ``shards`` (tables with the mix stage's
    columns) and the manifest's ``tokens`` section; returns the section."""
    from curation.operators.base import ready
    from curation.operators.context import ShardContext
    from curation.operators.tokenize import Tokenize
    from curation.run import manifest
    from curation.run.layout import RunLayout

    layout = RunLayout(run)
    op = ready(Tokenize({"tokenizer": str(tokenizer), "seed": seed}), layout)
    batches = [[s.slice(i, batch) for i in range(0, s.num_rows, batch)] for s in shards]
    collected = []
    for i, bs in enumerate(batches):
        ctx = ShardContext(index=i, run=layout)
        for b in bs:
            collected.append(op.collect(b, ctx))
            ctx.advance(b.num_rows)
    rows = pa.concat_tables(collected)
    part = rows.column("key").to_numpy() % np.uint64(parts)
    decisions = pa.concat_tables([op.combine(rows.filter(pa.array(part == p))) for p in range(parts)])
    summaries = []
    for i, (s, bs) in enumerate(zip(shards, batches)):
        ctx = ShardContext(index=i, run=layout)
        for b in bs:
            op.apply(b, decisions, ctx)
            ctx.advance(b.num_rows)
        summaries.append(op.shard_outputs(s, ctx)[1])
    result = op.finalize(summaries, decisions, layout.uri)
    manifest.merge(layout, result)
    return result["tokens"]


def with_token_counts(table: pa.Table, tokenizer) -> pa.Table:
    """Set the ``tokens`` column to the tokenizer's counts (BOS and EOS included), as the mix stage does."""
    n = [len(x) for x in tokenizer.encode_batch([t or "" for t in table.column("text").to_pylist()])]
    if "tokens" in table.column_names:
        table = table.drop_columns(["tokens"])
    return table.append_column("tokens", pa.array(n, pa.int64()))
