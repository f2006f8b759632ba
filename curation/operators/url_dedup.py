"""url_dedup: keep the most recent fetch of each normalized URL (global).

collect: one row per document with a URL: ``key`` = 64-bit hash of the normalized URL, ``id``,
``fetch_time``. combine: per key, the survivor is the latest ``fetch_time`` (unknown dates count
as oldest); ties go to the smallest id, so the choice never depends on worker order. Decisions are
the losers, routed to their shard. apply: losers are rejected with reason ``duplicate_url`` and the
survivor's id in ``detail``. Documents without a URL are kept.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation import schema
from curation.hashing import hash64
from curation.operators.base import KEY, SHARD, GlobalOperator, OpResult, Params
from curation.operators.context import ShardContext
from curation.text.urls import normalize_url


def url_key(url: str) -> int:
    return hash64(url)


class UrlDedupParams(Params):
    pass


class UrlDedup(GlobalOperator):
    name = "url_dedup"
    Params = UrlDedupParams

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        urls = table.column(schema.URL).to_pylist()
        keys, rows = [], []
        for i, u in enumerate(urls):
            n = normalize_url(u)
            if n is not None:
                keys.append(url_key(n))
                rows.append(i)
        sub = table.select([schema.ID, schema.FETCH_TIME]).take(pa.array(rows, pa.int64()))
        return sub.append_column(KEY, pa.array(keys, pa.uint64()))

    def combine(self, rows: pa.Table) -> pa.Table:
        out_schema = pa.schema([(schema.ID, pa.string()), (SHARD, pa.int32()), ("survivor", pa.string())])
        if rows.num_rows == 0:
            return out_schema.empty_table()
        # latest fetch first, then smallest id: the first row of each key survives
        # (unknown dates sort last, i.e. as the oldest; negating a filled minimum would overflow)
        t = rows.select([KEY, schema.ID, schema.FETCH_TIME, SHARD]).sort_by(
            [(KEY, "ascending"), (schema.FETCH_TIME, "descending", "at_end"), (schema.ID, "ascending")]
        )
        keys = t.column(KEY).to_numpy()
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        survivor_idx = np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))
        ids = t.column(schema.ID)
        losers = np.flatnonzero(~first)
        return pa.table(
            {
                schema.ID: ids.take(pa.array(losers)),
                SHARD: t.column(SHARD).take(pa.array(losers)),
                "survivor": ids.take(pa.array(survivor_idx[losers])),
            },
            schema=out_schema,
        )

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        if decisions.num_rows == 0:
            return self.keep_all(table)
        survivor = dict(zip(decisions.column(schema.ID).to_pylist(), decisions.column("survivor").to_pylist()))
        ids = table.column(schema.ID).to_pylist()
        reasons = ["duplicate_url" if i in survivor else None for i in ids]
        details = [f"survivor {survivor[i]}" if i in survivor else None for i in ids]
        return self.split(table, reasons, details)
