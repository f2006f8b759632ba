"""``curate status``: per stage, documents in, kept, rejected, and rejected by reason.

Computed from the run's ``stats`` and ``rejected`` views (DuckDB over the committed Parquet, on any
filesystem: :mod:`curation.run.views`), so it works on a run that is still going (committed
shards only) as well as a finished one. ``progress.state`` is ``finished``, ``running`` (a live
driver holds the run's lock), ``stopped`` (the driver died or the run failed before the end) or
``not started``.

Per stage, ``rejected`` counts every dropped document (``in = kept + rejected``); ``sampled_out``
is the part of it the mix left out by sampling (:data:`curation.schema.SAMPLED_OUT_REASONS`), not
because a filter judged the document. The table prints the two apart.
"""

from __future__ import annotations

import os

from curation.run import lock, progress, record, views
from curation.schema import SAMPLED_OUT_REASONS
from curation.run.commit import committed
from curation.run.layout import RunLayout


def _empty() -> dict:
    return {"in": 0, "kept": 0, "rejected": 0, "sampled_out": 0, "reasons": {}, "shards_done": 0, "seconds": 0.0}


def run_status(output: str | os.PathLike | RunLayout) -> dict:
    layout = RunLayout.of(output)
    run = record.read(layout)
    order = run.get("stages", [])
    stages: dict[str, dict] = {name: _empty() for name in order}
    con, found = views.connect(layout, only=("stats", "rejected"))
    if "stats" in found:
        rows = con.execute(
            "SELECT stage, count(*), sum(docs_in), sum(docs_kept), sum(docs_rejected), sum(seconds) "
            "FROM stats GROUP BY stage"
        ).fetchall()
        for stage, shards, n_in, kept, rej, secs in rows:
            s = stages.setdefault(stage, _empty())
            s.update({"in": int(n_in), "kept": int(kept), "rejected": int(rej), "shards_done": int(shards),
                      "seconds": round(float(secs), 3)})
    if "rejected" in found:
        rows = con.execute(
            "SELECT stage, reason, count(*) FROM rejected GROUP BY stage, reason ORDER BY stage, count(*) DESC, reason"
        ).fetchall()
        for stage, reason, n in rows:
            if stage in stages:
                stages[stage]["reasons"][reason] = int(n)
                if reason in SAMPLED_OUT_REASONS:
                    stages[stage]["sampled_out"] += int(n)
    return {"run": layout.uri, "pipeline": run.get("pipeline"), "shards": len(run.get("shards", [])),
            "stages": stages, "progress": live_progress(layout, run)}


def live_progress(output: str | os.PathLike | RunLayout, run: dict, now: float | None = None) -> dict:
    """Shards done of total, docs/s and time left per stage, from the runner's ``progress.json``;
    the state from the run's lock (a live driver) and its last group's committed shards."""
    import time

    layout = RunLayout.of(output)
    now = time.time() if now is None else now
    state = progress.read(layout)
    groups = run.get("groups", [])
    n_shards = len(run.get("shards", []))
    last = groups[-1]["name"] if groups else None
    complete = bool(last) and len(committed(layout.fs, layout.kept_dir(last))) >= n_shards
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
    owner = lock.read(layout)
    if complete and (owner is None or not lock.is_live(owner, now)):
        st = "finished"
    elif owner is not None and lock.is_live(owner, now):
        st = "running"
    else:
        st = "stopped" if state else "not started"
    return {"state": st, "current": state.get("current"), "last_update_s_ago": since, "stages": out,
            "driver": lock.describe(owner) if owner else None}


def format_status(st: dict) -> str:
    lines = [f"run {st['run']} ({st['pipeline']}, {_plural(st['shards'], 'shard')})",
             f"{'stage':<16}{'shards':>8}{'in':>10}{'kept':>10}{'rejected':>10}{'sampled out':>13}  top reasons"]
    for name, s in st["stages"].items():
        out = s.get("sampled_out", 0)
        reasons = ", ".join(f"{r} {n}" for r, n in list(s["reasons"].items())[:4] if r not in SAMPLED_OUT_REASONS)
        lines.append(f"{name:<16}{s['shards_done']:>4}/{st['shards']:<3}{s['in']:>10}{s['kept']:>10}"
                     f"{s['rejected'] - out:>10}{out if out else '':>13}  {reasons}")
    prog = st.get("progress") or {}
    if prog.get("stages"):
        ago = prog.get("last_update_s_ago")
        lines.append(f"\nprogress: {prog['state']}" + (f" (last update {ago:.0f}s ago)" if ago is not None else "")
                     + (" - the driver is gone; re-run the same command to resume" if prog["state"] == "stopped" else ""))
        for label, p in prog["stages"].items():
            left = p["seconds_left"]
            when = (f"done in {p['elapsed_s']:.1f}s" if p["finished"] else
                    f"time left {_fmt_left(left)}" if left is not None else "time left unknown")
            lines.append(f"  {label:<22}{p['done']:>5}/{p['total']:<5} shards "
                         + (f"{p['docs_per_s']:>10,.0f} docs/s" if p["docs"] else f"{'-':>10} docs/s") + f"  {when}")
    return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fmt_left(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
