"""``curate query``: DuckDB over a run's Parquet.

Views: one per stage output folder, named by its stage (``extract``, ...), ``rejected`` (every
dropped document with stage, reason and detail), ``stats`` (per stage and shard counters and
timings), and ``mix`` / ``anneal`` when the run has them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb


def _view_name(folder: str) -> str:
    name = re.sub(r"^\d+-", "", folder)
    return re.sub(r"\W", "_", name)


def connect(output: str | Path) -> duckdb.DuckDBPyConnection:
    root = Path(output)
    if not (root / "run.json").exists():
        raise FileNotFoundError(f"not a run folder (no run.json): {root}")
    con = duckdb.connect()
    views: dict[str, str] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if re.match(r"^\d+-", d.name) and any(d.glob("part-*.parquet")):
            views[_view_name(d.name)] = str(d / "part-*.parquet")
        elif d.name in ("mix", "anneal") and any(d.glob("*.parquet")):
            views[d.name] = str(d / "*.parquet")
        elif d.name in ("rejected", "stats") and any(d.glob("*/part-*.parquet")):
            views[d.name] = str(d / "*" / "part-*.parquet")
    for name, pattern in views.items():
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{pattern}', union_by_name=true)")
    con.execute("CREATE TABLE run AS SELECT ? AS json", [json.dumps(json.loads((root / "run.json").read_text()))])
    return con


def query(output: str | Path, sql: str):
    con = connect(output)
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description] if cur.description else []
    return cols, cur.fetchall()
