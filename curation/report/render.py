"""Turn :func:`curation.report.data.gather` output into one self-contained HTML document.

No scripts, no external fonts, styles or images: a Content-Security-Policy of ``default-src 'none'``
makes the browser refuse any network request the page could make. Every chart has a table with its
numbers beside it.
"""

from __future__ import annotations

import time

from curation.report import svg
from curation.report.data import SNIPPET_CHARS
from curation.report.svg import esc, fmt_num
from curation.schema import SAMPLED_OUT_REASONS

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;
color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
.meta{color:#555;font-size:13px}.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.row>figure{margin:0}.row table{font-size:12px}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
th{background:#f6f6f6}td.l,th.l{text-align:left}code{font-size:11px;word-break:break-all}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:10px 16px}
.card b{display:block;font-size:22px}.muted{color:#777}
.snip{font-size:11px;max-width:420px;white-space:pre-wrap;overflow-wrap:anywhere;color:#444;border-left:3px solid #e45756;
padding-left:6px;margin-bottom:4px;max-height:5.5em;overflow:hidden}
"""


def _table(head: list[str], rows: list[list], left: int | set[int] = 1, cls: str = "") -> str:
    """A table; columns in ``left`` (the first ``left`` columns, or a set of indices) align left."""
    lefts = set(range(left)) if isinstance(left, int) else left
    th = "".join(f'<th class="{"l" if i in lefts else ""}">{esc(h)}</th>' for i, h in enumerate(head))
    body = []
    for r in rows:
        tds = []
        for i, v in enumerate(r):
            cell = v if isinstance(v, _Raw) else esc(fmt_num(v) if isinstance(v, (int, float)) else v)
            tds.append(f'<td class="{"l" if i in lefts else ""}">{cell}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table>'


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def _pct(a: float, b: float) -> str:
    return f"{a / b:.1%}" if b else "-"


def _funnel(d: dict) -> str:
    stages = d["funnel"]
    rows, table = [], []
    first_in = next((s["in"] for s in stages.values() if s["in"]), 0)
    sampled_total = 0
    volume = d.get("volume") or {}
    for name, s in stages.items():
        out = s.get("sampled_out", 0)
        sampled_total += out
        rows.append((name, [s["kept"], s["rejected"] - out, out]))
        v = volume.get(name) or {}
        table.append([name, s["in"], s["kept"], s["rejected"] - out, out or "", _pct(s["kept"], s["in"]),
                      _pct(s["kept"], first_in), v.get("chars", "-"),
                      "-" if v.get("tokens") is None else v["tokens"]])
    chart = svg.hbars(rows, "documents kept, rejected and sampled out per stage",
                      series=["kept", "rejected by a filter", "sampled out by the mix"],
                      colors=[svg.KEPT, svg.REJECTED, svg.SAMPLED_OUT])
    tab = _table(["stage", "in", "kept", "rejected", "sampled out", "kept %", "of input", "characters kept",
                  "tokens kept"], table)
    reasons = [(f"{st}/{r}", [n]) for st, s in stages.items() for r, n in s["reasons"].items()
               if r not in SAMPLED_OUT_REASONS]
    reasons.sort(key=lambda x: -x[1][0])
    parts = [f'<div class="row"><figure>{chart}</figure>{tab}</div>']
    parts.append('<p class="meta">Characters kept: the length of the text each stage kept (after line '
                 'removal and redaction). Tokens are counted from the <code>mix</code> stage on (its '
                 '<code>tokens</code> column, the trainer\'s tokenizer); <code>mix</code> and '
                 '<code>tokenize</code> count each distinct document once.</p>')
    for sf in d.get("split_funnels") or []:
        srows = [(st, counts) for st, counts in zip(sf["stages"], sf["counts"])]
        schart = svg.hbars(srows, f"documents kept per stage by {sf['column']}", series=sf["values"])
        stab = _table(["stage", *sf["values"]], [[st, *c] for st, c in srows])
        parts.append(f"<h3>Funnel by {esc(sf['column'])} (from the stage that sets it)</h3>"
                     f'<div class="row"><figure>{schart}</figure>{stab}</div>')
    if sampled_total:
        parts.append(f'<p class="muted">{sampled_total:,} documents were sampled out by the mix '
                     f'(<code>{esc(", ".join(SAMPLED_OUT_REASONS))}</code>: no copy drawn at the target mix, not '
                     'judged by a filter); they are counted apart from the rejections below.</p>')
    if reasons:
        parts.append("<h3>Rejected documents by stage and reason</h3>")
        rchart = svg.hbars(reasons[:25], "rejected documents by stage and reason", colors=[svg.REJECTED])
        total_rej = sum(n[0] for _, n in reasons)
        rtab = _table(["stage / reason", "documents", "share of rejected"],
                      [[k, v[0], _pct(v[0], total_rej)] for k, v in reasons[:25]])
        parts.append(f'<div class="row"><figure>{rchart}</figure>{rtab}</div>')
    return "".join(parts)


def _distributions(d: dict) -> str:
    if not d["distributions"] and not d["categories"]:
        return '<p class="muted">No documents to describe.</p>'
    parts = []
    for dist in d["distributions"]:
        chart = svg.histogram(dist["edges"], dist["counts"], f"distribution of {dist['column']}", dist["column"],
                              log_x=dist["log_x"], thresholds=dist.get("thresholds"))
        head = ["", *dist["summary"].keys()]
        keys = ["count", "min", "p10", "median", "p90", "max", "mean"]
        rows = [[k, *[dist["summary"][s][k] for s in dist["summary"]]] for k in keys]
        parts.append(f"<h3>{esc(dist['column'])}</h3><div class=\"row\"><figure>{chart}</figure>{_table(head, rows)}</div>")
    for cat in d["categories"]:
        rows = [(v, [n]) for v, n in cat["counts"][:25]]
        total = sum(n for _, n in cat["counts"])
        chart = svg.hbars(rows, f"kept documents by {cat['column']}")
        tab = _table([cat["column"], "documents", "share"], [[v, n, _pct(n, total)] for v, n in cat["counts"][:25]])
        parts.append(f"<h3>{esc(cat['column'])}</h3><div class=\"row\"><figure>{chart}</figure>{tab}</div>")
    if any(dist.get("thresholds") for dist in d["distributions"]):
        parts.insert(0, '<p class="meta">Dashed lines: the cut a filter stage applies to that column '
                        '(<code>stage.parameter = value</code>, from run.json). Heuristics apply per-domain rules '
                        '(code and math have their own); the line is the stage\'s default rule.</p>')
    if d.get("all_zero"):
        parts.append('<p class="muted">Zero for every document (not drawn): '
                     + ", ".join(f"<code>{esc(c)}</code>" for c in d["all_zero"]) + ".</p>")
    return "".join(parts)


def _mix(d: dict) -> str:
    m = d["mix"]
    if not m:
        return '<p class="muted">This run has no <code>manifest.json</code> (no mix stage), so there is no mix to show.</p>'
    chart = svg.grouped_bars(m["domains"], {"target": m["target"], "achieved": m["achieved"]},
                             "target and achieved domain mix (share of tokens)", percent=True)
    rows = [[dom, f"{t:.1%}", f"{a:.1%}", f"{(a - t) * 100:+.1f}", tok, doc]
            for dom, t, a, tok, doc in zip(m["domains"], m["target"], m["achieved"], m["tokens"], m["documents"])]
    tab = _table(["domain", "target", "achieved", "points", "tokens", "documents"], rows)
    note = (f'<p class="meta">Tokens counted with <code>{esc(m["tokenizer"] or "?")}</code>; annealing set: '
            f'{fmt_num(m["anneal_documents"])} documents, {fmt_num(m["anneal_tokens"])} tokens.</p>')
    return f'<div class="row"><figure>{chart}</figure>{tab}</div>{note}'


def _reasons(d: dict) -> str:
    if not d["reasons"]:
        return '<p class="muted">No document was rejected.</p>'
    rows = []
    for r in d["reasons"]:
        if r["reason"] in SAMPLED_OUT_REASONS:  # sampling, not rejection: counted apart in the funnel
            continue
        urls = "<br>".join(f"<code>{esc(u)}</code>" for u in r["urls"]) or '<span class="muted">(no url)</span>'
        details = "<br>".join(f"<code>{esc(x)}</code>" for x in r["details"])
        snippets = "".join(f'<div class="snip">{esc(t)}{"…" if len(t) >= SNIPPET_CHARS else ""}</div>'
                           for t in r.get("snippets") or [])
        rows.append([r["stage"], r["reason"], r["count"], _Raw(urls), _Raw(details), _Raw(snippets)])
    return _table(["stage", "reason", "documents", "example urls (first ids)", "detail",
                   f"rejected text (first {SNIPPET_CHARS} characters)"], rows, left={0, 1, 3, 4, 5})


def _timing(d: dict) -> str:
    rows = [(t["stage"], [t["worker_seconds"]]) for t in d["timing"]]
    chart = svg.hbars(rows, "worker seconds per stage", colors=["#72b7b2"], value_fmt=lambda v: f"{v:.2f} s")
    tab = _table(["stage", "worker s", "docs in", "docs / worker-s"],
                 [[t["stage"], f"{t['worker_seconds']:.2f}", t["docs_in"],
                   fmt_num(t["docs_per_worker_second"]) if t["docs_per_worker_second"] else "-"] for t in d["timing"]])
    total = (f'<p class="meta">Total run time: {_duration(d.get("total_wall_s"))} (wall clock from the first '
             'step\'s start to the last step\'s end, progress.json).</p>') if d.get("total_wall_s") else ""
    parts = [total, f'<div class="row"><figure>{chart}</figure>{tab}</div>',
             '<p class="meta">Worker seconds: time spent inside each operator, summed over workers (reading is '
             'counted in the first stage that follows it).</p>']
    if d["wall"]:
        wrows = [(label, [w["elapsed_s"]]) for label, w in d["wall"].items()]
        wchart = svg.hbars(wrows, "wall-clock seconds per stage (driver)", colors=["#b279a2"],
                           value_fmt=lambda v: f"{v:.2f} s")
        wtab = _table(["stage step", "shards", "wall s", "docs/s"],
                      [[label, f"{w['done']}/{w['total']}", f"{w['elapsed_s']:.2f}",
                        fmt_num(w["docs_per_s"]) if w["docs"] else "-"] for label, w in d["wall"].items()])
        parts.append(f'<h3>Wall clock (from progress.json)</h3><div class="row"><figure>{wchart}</figure>{wtab}</div>')
    return "".join(parts)


def _duration(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def render(d: dict) -> str:
    funnel = d["funnel"]
    first_in = next((s["in"] for s in funnel.values() if s["in"]), 0)
    sampled = sum(s.get("sampled_out", 0) for s in funnel.values())
    rejected = sum(s["rejected"] for s in funnel.values()) - sampled
    versions = ", ".join(f"{k} {v}" for k, v in d["versions"].items())
    inputs = "<br>".join(f"<code>{esc(p)}</code>" for p in d["inputs"][:10])
    if len(d["inputs"]) > 10:
        inputs += f"<br>… and {len(d['inputs']) - 10} more"
    cards = "".join(f'<div class="card"><b>{esc(v)}</b>{esc(k)}</div>' for k, v in [
        ("documents read", fmt_num(first_in)), ("documents kept", fmt_num(d["final_docs"])),
        ("rejected by filters", fmt_num(rejected)), *([("sampled out", fmt_num(sampled))] if sampled else []),
        ("kept share", _pct(d["final_docs"], first_in)),
        ("shards", fmt_num(d["shards"])), ("state", d["state"] or "-"),
        ("run time", _duration(d.get("total_wall_s")))])
    sections = [
        ("funnel", "Document funnel by stage and reason", _funnel(d)),
        ("distributions", f"Distributions (kept: {esc(d['final_dir'] or '-')}; rejected: every stage)", _distributions(d)),
        ("mix", "Domain mix: target against achieved", _mix(d)),
        ("reasons", "Top reject reasons with example URLs", _reasons(d)),
        ("timing", "Time per stage", _timing(d)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{title}</h2>{html}</section>' for sid, title, html in sections)
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>curation report: {esc(d['pipeline'])}</title><style>{CSS}</style></head>
<body><h1>Run report: {esc(d['pipeline'])}</h1>
<p class="meta">{esc(d['run'])} &middot; generated {generated}<br>{esc(versions)}</p>
<div class="cards">{cards}</div>
<details><summary class="meta">inputs ({len(d['inputs'])})</summary><p class="meta">{inputs}</p></details>
{body}
</body></html>
"""
