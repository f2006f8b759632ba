"""``curate query``: DuckDB over a run's Parquet, on any filesystem.

Views (:mod:`curation.run.views`): one per stage, fused or not, with the documents it kept
(``extract``, ``url_filter``, ...), ``rejected`` (every dropped document with stage, reason and
detail), ``stats`` (per stage and shard counters and timings), ``kept`` (alias ``final``: the last
stage's output), and when the run has a mix, ``mix`` (one row per distinct document, with
``copies``), ``mix_occurrences`` (one row per copy, with ``epoch``: the trainer's files) and
``anneal``; table ``run`` holds run.json as text.

The user's SQL runs sandboxed: once the views are registered, DuckDB's ``enable_external_access``
is turned off and the configuration locked, so ``read_text('/etc/passwd')``, ``COPY ... TO``,
``ATTACH`` and ``INSTALL`` are refused, and no ``SET`` can turn them back on. The views still
read (they are Arrow datasets registered before the lock). ``unsafe=True`` (``--unsafe``) skips
the sandbox, for SQL that must read or write other files.
"""

from __future__ import annotations

import json
import os

import duckdb

from curation.run import record, views
from curation.run.layout import RunLayout


class QueryError(ValueError):
    """The SQL failed (a syntax error, an unknown table, a refused file access): one line."""


def connect(output: str | os.PathLike | RunLayout, unsafe: bool = False) -> duckdb.DuckDBPyConnection:
    layout = RunLayout.of(output)
    run = record.read(layout)
    con, _ = views.connect(layout, run)
    con.execute("CREATE TABLE run AS SELECT ? AS json", [json.dumps(run)])
    if not unsafe:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def view_names(output: str | os.PathLike | RunLayout) -> list[str]:
    """The views ``curate query`` offers on this run, in run order."""
    layout = RunLayout.of(output)
    return list(views.connect(layout, record.read(layout))[1])


def query(output: str | os.PathLike | RunLayout, sql: str, unsafe: bool = False):
    con = connect(output, unsafe)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description] if cur.description else []
        return cols, cur.fetchall()
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = " (curate query reads only the run's views; --unsafe lifts this)" \
            if isinstance(e, duckdb.PermissionException) and not unsafe else ""
        if isinstance(e, duckdb.CatalogException):
            hint = f" (views: {', '.join(view_names(output))}, run)"
        raise QueryError(f"{type(e).__name__}: {first}{hint}") from None
