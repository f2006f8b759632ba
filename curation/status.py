"""``curate status``: per stage, documents in, kept, rejected, and rejected by reason.

Computed from the run's ``stats/`` and ``rejected/`` Parquet with DuckDB, so it works on a run
that is still going (committed shards only) as well as a finished one.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb


def _glob(root: Path, sub: str) -> str | None:
    files = list(root.glob(f"{sub}/*/part-*.parquet"))
    return str(root / sub / "*" / "part-*.parquet") if files else None


def run_status(output: str | Path) -> dict:
    root = Path(output)
    run_json = root / "run.json"
    if not run_json.exists():
        raise FileNotFoundError(f"not a run folder (no run.json): {root}")
    run = json.loads(run_json.read_text())
    order = run.get("stages", [])
    stages: dict[str, dict] = {name: {"in": 0, "kept": 0, "rejected": 0, "reasons": {}, "shards_done": 0,
                                      "seconds": 0.0} for name in order}
    con = duckdb.connect()
    stats_glob = _glob(root, "stats")
    if stats_glob:
        rows = con.execute(
            "SELECT stage, count(*), sum(docs_in), sum(docs_kept), sum(docs_rejected), sum(seconds) "
            f"FROM read_parquet('{stats_glob}', union_by_name=true) GROUP BY stage"
        ).fetchall()
        for stage, shards, n_in, kept, rej, secs in rows:
            s = stages.setdefault(stage, {"in": 0, "kept": 0, "rejected": 0, "reasons": {}, "shards_done": 0,
                                          "seconds": 0.0})
            s.update({"in": int(n_in), "kept": int(kept), "rejected": int(rej), "shards_done": int(shards),
                      "seconds": round(float(secs), 3)})
    rej_glob = _glob(root, "rejected")
    if rej_glob:
        rows = con.execute(
            "SELECT stage, reason, count(*) FROM read_parquet(?, union_by_name=true) "
            "GROUP BY stage, reason ORDER BY stage, count(*) DESC, reason",
            [rej_glob],
        ).fetchall()
        for stage, reason, n in rows:
            if stage in stages:
                stages[stage]["reasons"][reason] = int(n)
    return {"run": str(root.resolve()), "pipeline": run.get("pipeline"), "shards": len(run.get("shards", [])),
            "stages": stages}


def format_status(st: dict) -> str:
    lines = [f"run {st['run']} ({st['pipeline']}, {st['shards']} shards)",
             f"{'stage':<16}{'shards':>8}{'in':>10}{'kept':>10}{'rejected':>10}  top reasons"]
    for name, s in st["stages"].items():
        reasons = ", ".join(f"{r} {n}" for r, n in list(s["reasons"].items())[:4])
        lines.append(f"{name:<16}{s['shards_done']:>4}/{st['shards']:<3}{s['in']:>10}{s['kept']:>10}"
                     f"{s['rejected']:>10}  {reasons}")
    return "\n".join(lines)
