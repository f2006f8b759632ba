"""``evaluate.html``: one self-contained page (inline SVG, no scripts, no network), like report.html.

Sections: bits per byte per eval set and arm (bars = mean over seeds, whiskers = min..max of the
seeds), the table of numbers, training-loss curves per arm (mean over seeds), the contamination
table, and, when present, the annealing deltas and the mix search (observed vs fitted bpb, and the
recommended ``mix.target``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curation.report.svg import esc

COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def _bars(evals: list[str], arms: dict, w: int = 760, h: int = 260) -> str:
    names = list(arms)
    vals = [v for a in arms.values() for e in evals for v in a["bpb"][e]]
    if not vals:
        return ""
    top = max(vals) * 1.08
    pad_l, pad_b = 50, 40
    gw = (w - pad_l) / len(evals)
    bw = gw * 0.8 / len(names)
    y = lambda v: h - pad_b - (h - pad_b - 10) * v / top  # noqa: E731
    out = [f'<line x1="{pad_l}" y1="{h - pad_b}" x2="{w}" y2="{h - pad_b}" stroke="#333"/>']
    for t in np.linspace(0, top, 5):
        out.append(f'<text x="{pad_l - 4}" y="{y(t) + 4:.1f}" font-size="10" text-anchor="end">{t:.2f}</text>')
    for i, e in enumerate(evals):
        x0 = pad_l + i * gw + gw * 0.1
        out.append(f'<text x="{pad_l + (i + 0.5) * gw:.1f}" y="{h - pad_b + 16}" font-size="12" text-anchor="middle">{esc(e)}</text>')
        for j, n in enumerate(names):
            v = arms[n]["bpb"][e]
            m, lo, hi = float(np.mean(v)), min(v), max(v)
            x = x0 + j * bw
            out.append(f'<rect x="{x:.1f}" y="{y(m):.1f}" width="{bw * 0.9:.1f}" height="{y(0) - y(m):.1f}" '
                       f'fill="{COLORS[j % len(COLORS)]}"><title>{esc(n)} {esc(e)}: {m:.4f} bpb</title></rect>')
            cx = x + bw * 0.45
            out.append(f'<line x1="{cx:.1f}" y1="{y(lo):.1f}" x2="{cx:.1f}" y2="{y(hi):.1f}" stroke="#000"/>')
    out += _legend(names, pad_l, h - 12)
    return f'<svg width="{w}" height="{h}" role="img" aria-label="bits per byte">{"".join(out)}</svg>'


def _legend(names: list[str], x: float, y: float) -> list[str]:
    out = []
    for j, n in enumerate(names):
        out.append(f'<rect x="{x + j * 130}" y="{y - 9}" width="10" height="10" fill="{COLORS[j % len(COLORS)]}"/>'
                   f'<text x="{x + j * 130 + 14}" y="{y}" font-size="11">{esc(n)}</text>')
    return out


def _curves(arms: dict, w: int = 760, h: int = 260) -> str:
    series = {n: np.mean(np.array(a["train_loss"], dtype=float), axis=0) for n, a in arms.items() if a.get("train_loss")}
    if not series:
        return ""
    steps = max(len(s) for s in series.values())
    lo = min(float(s.min()) for s in series.values())
    hi = max(float(s.max()) for s in series.values())
    pad_l, pad_b = 50, 40
    x = lambda i: pad_l + (w - pad_l - 10) * i / max(1, steps - 1)  # noqa: E731
    y = lambda v: 10 + (h - pad_b - 10) * (hi - v) / max(hi - lo, 1e-9)  # noqa: E731
    out = [f'<line x1="{pad_l}" y1="{h - pad_b}" x2="{w}" y2="{h - pad_b}" stroke="#333"/>',
           f'<text x="{w / 2}" y="{h - pad_b + 16}" font-size="11" text-anchor="middle">step (of {steps})</text>']
    for t in np.linspace(lo, hi, 5):
        out.append(f'<text x="{pad_l - 4}" y="{y(t) + 4:.1f}" font-size="10" text-anchor="end">{t:.2f}</text>')
    for j, (n, s) in enumerate(series.items()):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{COLORS[j % len(COLORS)]}" stroke-width="1.5"/>')
    out += _legend(list(series), pad_l, h - 12)
    return f'<svg width="{w}" height="{h}" role="img" aria-label="training loss">{"".join(out)}</svg>'


def _scatter(obs: list[float], pred: list[float], w: int = 320, h: int = 320) -> str:
    lo, hi = min(obs + pred), max(obs + pred)
    span = max(hi - lo, 1e-9)
    p = lambda v: 30 + (w - 40) * (v - lo) / span  # noqa: E731
    q = lambda v: h - 30 - (h - 40) * (v - lo) / span  # noqa: E731
    out = [f'<line x1="{p(lo)}" y1="{q(lo)}" x2="{p(hi)}" y2="{q(hi)}" stroke="#bbb"/>',
           f'<text x="{w / 2}" y="{h - 8}" font-size="10" text-anchor="middle">observed bpb</text>']
    for o_, f_ in zip(obs, pred):
        out.append(f'<circle cx="{p(o_):.1f}" cy="{q(f_):.1f}" r="3" fill="#4e79a7"/>')
    return f'<svg width="{w}" height="{h}" role="img" aria-label="fit">{"".join(out)}</svg>'


def _table(header: list[str], rows: list[list]) -> str:
    th = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render(res: dict) -> str:
    evals = list(res.get("evals", {}))
    arms = res.get("arms", {})
    parts = [f"<h1>curate evaluate ({esc(res.get('mode'))})</h1>"]
    tr = res.get("train")
    if tr:
        parts.append(f"<p>{esc(tr['flavour'])} model, {tr['tokens']:,} tokens per arm and seed "
                     f"({tr['steps']} steps of {tr['batch']} x {tr['seq_len']}), vocabulary {tr['vocab_size']}.</p>")
    for wmsg in res.get("warnings", []):
        parts.append(f'<p class="warn">{esc(wmsg)}</p>')
    if arms and evals and all("bpb" in a for a in arms.values()):
        parts.append("<h2>Bits per byte (mean over seeds; whiskers: seed range)</h2>" + _bars(evals, arms))
        rows = []
        for n, a in arms.items():
            per = [f"{a['bpb_mean'][e]:.4f} [" + ", ".join(f"{v:.4f}" for v in a["bpb"][e]) + "]" for e in evals]
            rows.append([n, *per, f"{a['mean_bpb']:.4f}"])
        parts.append(_table(["arm", *evals, "mean"], rows))
        rel = (res.get("comparison") or {}).get("relative", {})
        if rel:
            base = res["comparison"]["baseline"]
            parts.append(f"<h3>Change against {esc(base)} (negative: better)</h3>")
            verdict = res["comparison"].get("verdict", {})
            parts.append(_table(["arm", *evals, "mean"], [
                [n, *[f"{r[e]:+.1%}" + (f" ({verdict[n][e]})" if e in verdict.get(n, {}) else "")
                      for e in [*evals, 'mean']]] for n, r in rel.items()]))
            if verdict:
                parts.append("<p class='meta'>better / worse: the difference exceeds two standard errors of the "
                             "seed spread; within noise: it does not.</p>")
        parts.append("<h2>Training loss (mean over seeds)</h2>" + _curves(arms))
    if any("contamination" in a for a in arms.values()):
        parts.append("<h2>Contamination: share of each eval set's 13-grams in the arm's training text</h2>")
        parts.append(_table(["arm", *evals], [[n, *[f"{a['contamination'][e]:.2%}" for e in evals]]
                                              for n, a in arms.items() if "contamination" in a]))
    an = res.get("anneal")
    if an:
        parts.append(f"<h2>Annealing test from {esc(an['checkpoint'])}</h2><p>{esc(an['description'])}</p>")
        rows = [[c, *[f"{v['delta'][e]:+.4f} ({v['relative'][e]:+.1%})" for e in evals]] for c, v in an["candidates"].items()]
        parts.append(_table(["candidate", *evals], rows))
    mx = res.get("mix_search")
    if mx:
        parts.append("<h2>Mix search</h2>")
        parts.append(f"<p>Recommended <code>mix.target</code>: <code>{esc(mx['yaml'])}</code> "
                     f"(predicted mean bpb {mx['recommended']['predicted_mean_bpb']:.4f})"
                     + (f": the best candidate measured, {esc(mx['recommended']['source'])}, because the fitted mix "
                        f"trained worse ({mx['verified']['mean_bpb']:.4f})" if mx["recommended"].get("source") else "")
                     + "</p>")
        ap = mx.get("applied")
        if ap:
            achieved = ", ".join(f"{d} {v:.3f}" for d, v in (ap.get("achieved_mix") or {}).items())
            parts.append(f"<p>Applied (<code>--apply</code>): re-mixed run <code>{esc(ap['output'])}</code> from "
                         f"<code>{esc(ap['input'])}</code>, achieved mix {esc(achieved)}. Next: "
                         f"<code>{esc(ap['next'])}</code></p>")
        rows = [[", ".join(f"{k} {v:.2f}" for k, v in c["mix"].items()), *[f"{c['bpb'][e]:.4f}" for e in evals]]
                for c in mx["candidates"]]
        parts.append(_table(["mix", *evals], rows))
        figs = []
        for e in evals:
            obs = [c["bpb"][e] for c in mx["candidates"]]
            r2 = mx["fit"][e]["loo_r2"]
            figs.append(f"<figure>{_scatter(obs, mx['fit'][e]['predicted'])}<figcaption>{esc(e)}: fitted vs observed"
                        f"{'' if r2 is None else f', leave-one-out R² {r2:.2f}'}</figcaption></figure>")
        parts.append('<div class="figs">' + "".join(figs) + "</div>")
    css = ("body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}"
           "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}.warn{color:#b00}.figs{display:flex;flex-wrap:wrap}"
           "figure{margin:4px}figcaption{font-size:12px}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>curate evaluate</title><style>{css}</style></head><body>{''.join(parts)}</body></html>"


def write_html(res: dict, path: Path) -> None:
    path.write_text(render(res), encoding="utf-8")
