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
            "stages": stages, "progress": live_progress(root, run)}


def live_progress(root: Path, run: dict, now: float | None = None) -> dict:
    """Shards done of total, docs/s and time left per stage, from the runner's ``progress.json``."""
    import time

    now = time.time() if now is None else now
    path = root / "progress.json"
    try:
        state = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:  # being replaced right now: an atomic rename makes this rare
        state = {}
    groups = run.get("groups", [])
    n_shards = len(run.get("shards", []))
    last = groups[-1]["name"] if groups else None
    complete = bool(last) and len(list((root / last).glob("part-*.parquet"))) >= n_shards
    out = {}
    for label, e in state.get("stages", {}).items():
        end = e["updated"] if e.get("finished") else now
        elapsed = max(end - e["started"], 1e-9)
        fresh = e["done"] - e.get("resumed", 0)
        left = None
        if not e.get("finished") and fresh > 0:
            left = max(0.0, (e["updated"] - e["started"]) / fresh * (e["total"] - e["done"]) - (now - e["updated"]))
        out[label] = {"done": e["done"], "total": e["total"], "resumed": e.get("resumed", 0), "docs": e["docs"],
                      "docs_per_s": round(e["docs"] / elapsed, 1), "elapsed_s": round(elapsed, 2),
                      "finished": bool(e.get("finished")), "seconds_left": None if left is None else round(left, 1)}
    since = round(now - state["updated"], 1) if "updated" in state else None
    return {"state": "finished" if complete else ("running" if state else "not started"),
            "current": state.get("current"), "last_update_s_ago": since, "stages": out}


def format_status(st: dict) -> str:
    lines = [f"run {st['run']} ({st['pipeline']}, {st['shards']} shards)",
             f"{'stage':<16}{'shards':>8}{'in':>10}{'kept':>10}{'rejected':>10}  top reasons"]
    for name, s in st["stages"].items():
        reasons = ", ".join(f"{r} {n}" for r, n in list(s["reasons"].items())[:4])
        lines.append(f"{name:<16}{s['shards_done']:>4}/{st['shards']:<3}{s['in']:>10}{s['kept']:>10}"
                     f"{s['rejected']:>10}  {reasons}")
    prog = st.get("progress") or {}
    if prog.get("stages"):
        ago = prog.get("last_update_s_ago")
        lines.append(f"\nprogress: {prog['state']}" + (f" (last update {ago:.0f}s ago)" if ago is not None else ""))
        for label, p in prog["stages"].items():
            left = p["seconds_left"]
            when = (f"done in {p['elapsed_s']:.1f}s" if p["finished"] else
                    f"time left {_fmt_left(left)}" if left is not None else "time left unknown")
            lines.append(f"  {label:<22}{p['done']:>5}/{p['total']:<5} shards "
                         + (f"{p['docs_per_s']:>10,.0f} docs/s" if p["docs"] else f"{'-':>10} docs/s") + f"  {when}")
    return "\n".join(lines)


def _fmt_left(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
