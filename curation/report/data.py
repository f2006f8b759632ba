"""What the report shows, computed with DuckDB over the run's Parquet (no table is loaded whole).

* funnel: per stage, documents in, kept, rejected, by reason (from ``stats/`` and ``rejected/``);
* distributions: text length always, and every other numeric column the run has (quality scores,
  ``kl_div``, ...) for the kept documents and, where the rejected rows carry it, the rejected ones;
  low-cardinality string columns (``lang``, ``domain``, ``source``) as counts;
* mix: target against achieved from ``manifest.json`` when the run has one;
* top reject reasons with example URLs (the first ids in id order, so the report is deterministic);
* time per stage: worker seconds and documents per worker-second (``stats/``), wall time per stage
  from ``progress.json`` when the runner wrote one, and the run's total wall time (first step's
  start to the last update);
* volume: characters (and tokens, where a stage's output has a ``tokens`` column: the mix and
  after) each stage kept, beside its documents;
* a funnel per domain and per language: documents each stage kept, per value of ``domain`` /
  ``lang`` from the first stage whose output has that column;
* rejected text: the first few characters of a few rejected documents per reason (escaped when
  rendered).
"""

from __future__ import annotations

import math
import os

from curation.run import manifest, record, views
from curation.run import progress as run_progress
from curation.run.layout import RunLayout
from curation.status import run_status

#: Columns never plotted: identifiers, bookkeeping and free text.
SKIP = {"id", "url", "text", "html", "stage", "reason", "detail", "fetch_time", "key", "_shard", "_part"}
#: A string column is drawn as category counts when it has at most this many distinct values.
MAX_CATEGORIES = 40
BINS = 30
EXAMPLES = 3
TOP_REASONS = 20
#: characters of each rejected document shown per reason
SNIPPET_CHARS = 200
#: columns a funnel is drawn per value of, and the most values shown
SPLIT_COLUMNS = ("domain", "lang")
MAX_SPLIT_VALUES = 12


_q = views.quote


def _is_numeric(t: str) -> bool:
    t = t.upper()
    return any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                         "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"))


def _summary(con, source: str, expr: str) -> dict | None:
    row = con.execute(
        f"SELECT count(x), min(x), max(x), avg(x), quantile_cont(x, [0.1, 0.5, 0.9]) "
        f"FROM (SELECT CAST({expr} AS DOUBLE) AS x FROM {source}) WHERE x IS NOT NULL AND isfinite(x)"
    ).fetchone()
    n, lo, hi, mean, qs = row
    if not n:
        return None
    return {"count": int(n), "min": lo, "p10": qs[0], "median": qs[1], "p90": qs[2], "max": hi, "mean": mean}


def _bin_counts(con, source: str, expr: str, edges: list[float], log_x: bool) -> list[int]:
    lo, hi, n = edges[0], edges[-1], len(edges) - 1
    if log_x:
        x = f"log10(greatest(CAST({expr} AS DOUBLE), 1))"
        lo, hi = math.log10(lo), math.log10(hi)
    else:
        x = f"CAST({expr} AS DOUBLE)"
    width = (hi - lo) / n if hi > lo else 1.0
    rows = con.execute(
        f"SELECT least(greatest(CAST(floor((v - ?) / ?) AS BIGINT), 0), ?) AS b, count(*) "
        f"FROM (SELECT {x} AS v FROM {source}) WHERE v IS NOT NULL AND isfinite(v) GROUP BY b",
        [lo, width, n - 1],
    ).fetchall()
    counts = [0] * n
    for b, c in rows:
        counts[int(b)] += int(c)
    return counts


def _edges(lo: float, hi: float, log_x: bool) -> list[float]:
    if log_x:
        a, b = math.log10(max(lo, 1)), math.log10(max(hi, 1))
        if b <= a:
            b = a + 1
        return [10 ** (a + (b - a) * i / BINS) for i in range(BINS + 1)]
    if hi <= lo:
        hi = lo + 1
    return [lo + (hi - lo) * i / BINS for i in range(BINS + 1)]


#: columns whose threshold parameter is not named min_/max_<column>
THRESHOLD_ALIASES = {"kl_div": [("kl_filter", "max_kl")]}
#: operators whose min_/max_ parameters are cuts on a column they write, and the ones that are not cuts
CUT_OPS = {"heuristics", "fluency", "kl_filter", "language", "quality"}
NOT_CUTS = {("fluency", "min_words"), ("fluency", "max_words"), ("quality", "max_tokens"), ("language", "max_chars")}


def _thresholds(config: dict) -> dict[str, list[dict]]:
    """{column: [{"stage", "key", "value"}]}: every numeric ``min_<column>`` / ``max_<column>`` parameter
    of the run's stages (a filter's cut on the score it writes), plus THRESHOLD_ALIASES."""
    out: dict[str, list[dict]] = {}
    ops = {st.get("name") or st.get("op"): st.get("op") for st in config.get("stages") or []}
    stages = {st.get("name") or st.get("op"): st.get("params") or {} for st in config.get("stages") or []}
    for name, params in stages.items():
        if ops[name] not in CUT_OPS:
            continue
        for key, v in params.items():
            if (ops[name], key) in NOT_CUTS:
                continue
            if key.startswith(("min_", "max_")) and isinstance(v, (int, float)) and not isinstance(v, bool):
                out.setdefault(key[4:], []).append({"stage": name, "key": key, "value": float(v)})
    for col, refs in THRESHOLD_ALIASES.items():
        for stage, key in refs:
            v = stages.get(stage, {}).get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.setdefault(col, []).append({"stage": stage, "key": key, "value": float(v)})
    return out


def _distributions(con, kept: str | None, kept_cols: dict, rejected: str | None, rej_cols: dict,
                   thresholds: dict | None = None, all_zero: list | None = None) -> list[dict]:
    specs: list[tuple[str, str, str]] = []  # (title, expr, column needed)
    if "text" in kept_cols:
        specs.append(("text length (characters)", "length(text)", "text"))
    for name, t in kept_cols.items():
        if name not in SKIP and not name.startswith("_") and _is_numeric(t):
            specs.append((name, _q(name), name))
    for name, t in rej_cols.items():
        if name not in SKIP and not name.startswith("_") and _is_numeric(t) and name not in kept_cols:
            specs.append((name, _q(name), name))
    out = []
    for title, expr, col in specs:
        sources = {}
        if kept and col in kept_cols:
            sources["kept"] = kept
        if rejected and col in rej_cols:
            sources["rejected"] = rejected
        summaries = {k: _summary(con, src, expr) for k, src in sources.items()}
        summaries = {k: v for k, v in summaries.items() if v}
        if not summaries:
            continue
        if all(v["min"] == v["max"] == 0 for v in summaries.values()):
            if all_zero is not None:
                all_zero.append(title)  # a histogram of one bar at 0 says nothing: listed by name instead
            continue
        lo = min(s["min"] for s in summaries.values())
        hi = max(s["max"] for s in summaries.values())
        # counts with a long tail (text length, tokens, lines removed) read better on a log axis
        median = min(v["median"] for v in summaries.values())
        log_x = lo >= 0 and hi >= 100 and hi > 20 * max(median, 1)
        edges = _edges(lo, hi, log_x)
        counts = {k: _bin_counts(con, sources[k], expr, edges, log_x) for k in summaries}
        cuts = [t for t in (thresholds or {}).get(col, []) if edges[0] <= t["value"] <= edges[-1]]
        out.append({"column": title, "edges": edges, "counts": counts, "summary": summaries, "log_x": log_x,
                    "thresholds": cuts})
    return out


def _categories(con, kept: str | None, kept_cols: dict) -> list[dict]:
    out = []
    if not kept:
        return out
    for name, t in kept_cols.items():
        if name in SKIP or name.startswith("_") or not t.upper().startswith("VARCHAR"):
            continue
        n_distinct = con.execute(f"SELECT count(DISTINCT {_q(name)}) FROM {kept}").fetchone()[0]
        if not n_distinct or n_distinct > MAX_CATEGORIES:
            continue
        rows = con.execute(f"SELECT coalesce({_q(name)}, '(none)') AS v, count(*) AS n FROM {kept} "
                           f"GROUP BY v ORDER BY n DESC, v").fetchall()
        out.append({"column": name, "counts": [(str(v), int(n)) for v, n in rows]})
    return out


def _reasons(con, rejected: str | None, rej_cols: dict) -> list[dict]:
    if not rejected:
        return []
    url = "url" if "url" in rej_cols else "NULL"
    detail = "detail" if "detail" in rej_cols else "NULL"
    text = f"left(text, {SNIPPET_CHARS})" if "text" in rej_cols else "NULL"
    rows = con.execute(
        f"SELECT stage, reason, count(*) AS n, "
        f"list({url} ORDER BY id)[1:{EXAMPLES}], list({detail} ORDER BY id)[1:{EXAMPLES}], "
        f"list({text} ORDER BY id) FILTER (WHERE text IS NOT NULL AND length(text) > 0)[1:{EXAMPLES}] "
        f"FROM {rejected} GROUP BY stage, reason ORDER BY n DESC, stage, reason LIMIT {TOP_REASONS}"
    ).fetchall() if "text" in rej_cols else [(*r, None) for r in con.execute(
        f"SELECT stage, reason, count(*) AS n, "
        f"list({url} ORDER BY id)[1:{EXAMPLES}], list({detail} ORDER BY id)[1:{EXAMPLES}] "
        f"FROM {rejected} GROUP BY stage, reason ORDER BY n DESC, stage, reason LIMIT {TOP_REASONS}").fetchall()]
    return [{"stage": s, "reason": r, "count": int(n), "urls": [u for u in (us or []) if u],
             "details": [d for d in (ds or []) if d], "snippets": [t for t in (ts or []) if t]}
            for s, r, n, us, ds, ts in rows]


def _volume(con, stage_views: dict[str, dict]) -> dict[str, dict]:
    """Characters (and tokens, when the output has them) each stage kept."""
    out = {}
    for stage, cols in stage_views.items():
        if "text" not in cols:
            continue
        tok = f"sum({_q('tokens')})" if "tokens" in cols else "NULL"
        chars, tokens = con.execute(f"SELECT sum(length(text)), {tok} FROM {_q(views.view_name(stage))}").fetchone()
        out[stage] = {"chars": int(chars or 0), "tokens": None if tokens is None else int(tokens)}
    return out


def _split_funnels(con, stage_views: dict[str, dict]) -> list[dict]:
    """Per value of each of SPLIT_COLUMNS: documents kept by each stage from the first that has it."""
    out = []
    for col in SPLIT_COLUMNS:
        stages = [st for st, cols in stage_views.items() if col in cols]
        if not stages:
            continue
        counts: dict[str, dict[str, int]] = {}
        for st in stages:
            rows = con.execute(f"SELECT CAST({_q(col)} AS VARCHAR), count(*) FROM {_q(views.view_name(st))} "
                               f"GROUP BY 1").fetchall()
            if counts or any(v is not None for v, _ in rows):  # from the stage that sets the column
                counts[st] = {("(none)" if v is None else str(v)): int(n) for v, n in rows}
        if not counts:
            continue
        stages = list(counts)
        first = counts[stages[0]]
        values = sorted(first, key=lambda v: (-first[v], v))[:MAX_SPLIT_VALUES]
        out.append({"column": col, "stages": stages, "values": values,
                    "counts": [[counts[st].get(v, 0) for v in values] for st in stages]})
    return out


def _total_wall(progress: dict) -> float | None:
    """Seconds from the first step's start to the last step's update (progress.json)."""
    stages = (progress or {}).get("stages") or {}
    starts = [w["started"] for w in stages.values() if w.get("started")]
    ends = [w["updated"] for w in stages.values() if w.get("updated")]
    return (max(ends) - min(starts)) if starts and ends else None


def _mix(layout: RunLayout) -> dict | None:
    """Target and achieved shares per domain from ``manifest.json`` (:mod:`curation.run.manifest`)."""
    try:
        m = manifest.read(layout)
    except (FileNotFoundError, ValueError):
        return None
    target = m.get("target_mix") or (m.get("mix") or {}).get("target") or {}
    achieved = m.get("achieved_mix") or (m.get("mix") or {}).get("achieved") or {}
    tokens = (m.get("mix") or {}).get("tokens") or {}
    documents = (m.get("mix") or {}).get("documents") or {}
    if not achieved and tokens:
        total = sum(tokens.values()) or 1
        achieved = {k: v / total for k, v in tokens.items()}
    if not target and not achieved:
        return None
    domains = list(dict.fromkeys([*target, *achieved]))
    anneal = m.get("anneal") or {}
    return {"domains": domains, "target": [float(target.get(d, 0.0)) for d in domains],
            "achieved": [float(achieved.get(d, 0.0)) for d in domains],
            "tokens": [int(tokens.get(d, 0)) for d in domains], "documents": [int(documents.get(d, 0)) for d in domains],
            "tokenizer": m.get("tokenizer"),
            "anneal_documents": int(sum((anneal.get("documents") or {}).values())),
            "anneal_tokens": int(sum((anneal.get("tokens") or {}).values()))}


def _timing(status: dict, progress: dict) -> list[dict]:
    out = []
    for name, s in status["stages"].items():
        secs = s.get("seconds", 0.0)
        out.append({"stage": name, "worker_seconds": secs, "docs_in": s["in"],
                    "docs_per_worker_second": (s["in"] / secs) if secs > 0 else None})
    return out


def gather(output: str | os.PathLike | RunLayout) -> dict:
    layout = RunLayout.of(output)
    status = run_status(layout)  # raises FileNotFoundError for a folder without run.json
    run = record.read(layout)
    stage_names = [st for st in status["stages"] if st != "read"]
    con, found = views.connect(layout, run, only=("final", "rejected", *map(views.view_name, stage_names)))
    stage_views = {st: views.columns(con, views.view_name(st)) for st in stage_names
                   if views.view_name(st) in found}
    final = found.get("final")
    kept = _q("final") if final else None
    kept_cols = views.columns(con, "final") if final else {}
    rejected = _q("rejected") if "rejected" in found else None
    rej_cols = views.columns(con, "rejected") if rejected else {}
    all_zero: list[str] = []
    n_final = con.execute(f"SELECT count(*) FROM {kept}").fetchone()[0] if kept else 0
    progress = status.get("progress") or {}
    return {
        "run": status["run"], "pipeline": status["pipeline"], "shards": status["shards"],
        "inputs": run.get("inputs", []), "versions": run.get("versions", {}), "groups": run.get("groups", []),
        "config": run.get("config", {}),
        "final_dir": final, "final_docs": int(n_final),
        "funnel": status["stages"],
        "distributions": _distributions(con, kept, kept_cols, rejected, rej_cols,
                                        _thresholds(run.get("config") or {}), all_zero),
        "all_zero": all_zero,
        "categories": _categories(con, kept, kept_cols),
        "reasons": _reasons(con, rejected, rej_cols),
        "mix": _mix(layout),
        "timing": _timing(status, progress),
        "wall": progress.get("stages", {}),
        "total_wall_s": _total_wall(run_progress.read(layout)),
        "volume": _volume(con, stage_views),
        "split_funnels": _split_funnels(con, stage_views),
        "state": progress.get("state"),
    }
