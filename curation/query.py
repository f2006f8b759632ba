"""``curate query``: DuckDB over a run's Parquet, on any filesystem.

Views (:mod:`curation.run.views`): one per stage output folder, named by its stage (``extract``,
...), ``rejected`` (every dropped document with stage, reason and detail), ``stats`` (per stage and
shard counters and timings), ``final`` (the last stage's output), and ``mix`` / ``anneal`` when
the run has them; table ``run`` holds run.json as text.
"""

from __future__ import annotations

import json
import os

import duckdb

from curation.run import record, views
from curation.run.layout import RunLayout


def connect(output: str | os.PathLike | RunLayout) -> duckdb.DuckDBPyConnection:
    layout = RunLayout.of(output)
    run = record.read(layout)
    con, _ = views.connect(layout, run)
    con.execute("CREATE TABLE run AS SELECT ? AS json", [json.dumps(run)])
    return con


def query(output: str | os.PathLike | RunLayout, sql: str):
    con = connect(output)
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description] if cur.description else []
    return cols, cur.fetchall()
