"""Small inline-SVG charts: no JavaScript, no fonts or images from the network.

Every function returns an ``<svg>`` element as a string. All text that comes from data (stage
names, reasons, URLs, labels) goes through :func:`esc`, so a page title or URL holding markup is
shown as text, never run.
"""

from __future__ import annotations

import html
import math

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
           "#9d755d", "#bab0ac"]
KEPT = "#4c78a8"
REJECTED = "#e45756"
SAMPLED_OUT = "#bab0ac"  # grey: left out by the mix's sampling, not judged
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt_num(v: float) -> str:
    """Compact number: 1234 -> 1,234; 0.01234 -> 0.0123; 1.5e7 -> 15,000,000."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 1:
        return f"{int(v):,}"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{esc(label)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="12">'
            f'<title>{esc(label)}</title>' + "".join(body) + "</svg>")


def hbars(rows: list[tuple[str, list[float]]], label: str, series: list[str] | None = None,
          colors: list[str] | None = None, width: int = 640, bar_h: int = 18, value_fmt=fmt_num,
          label_w: int | None = None) -> str:
    """Horizontal stacked bars: ``rows`` = [(row label, [value per series])]; totals printed at the end."""
    colors = colors or PALETTE
    longest = max((len(r[0]) for r in rows), default=4)
    label_w = label_w or min(260, 14 + 7 * longest)
    top = 22 if series else 6
    gap = 6
    height = top + len(rows) * (bar_h + gap) + 6
    plot_w = width - label_w - 90
    vmax = max((sum(v) for _, v in rows), default=0) or 1
    body = []
    if series:
        x = label_w
        for i, s in enumerate(series):
            body.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colors[i % len(colors)]}"/>'
                        f'<text x="{x + 14}" y="13">{esc(s)}</text>')
            x += 24 + 7 * len(s)
    for j, (name, values) in enumerate(rows):
        y = top + j * (bar_h + gap)
        short = name if len(name) <= 40 else name[:38] + "…"
        body.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.72:.1f}" text-anchor="end">{esc(short)}</text>')
        x = float(label_w)
        for i, v in enumerate(values):
            w = plot_w * v / vmax
            if w > 0:
                tip = f"{name}: {series[i] + ' ' if series else ''}{value_fmt(v)}"
                body.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_h}" '
                            f'fill="{colors[i % len(colors)]}"><title>{esc(tip)}</title></rect>')
            x += w
        body.append(f'<text x="{x + 5:.1f}" y="{y + bar_h * 0.72:.1f}" fill="#333">{esc(value_fmt(sum(values)))}</text>')
    return _svg(width, height, body, label)


def grouped_bars(categories: list[str], series: dict[str, list[float]], label: str, width: int = 640,
                 height: int = 240, percent: bool = False) -> str:
    """Vertical grouped bars: one group per category, one bar per series (e.g. target vs achieved)."""
    names = list(series)
    left, right, top, bottom = 48, 10, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max((max(v) for v in series.values() if v), default=0) or 1
    vmax = _nice_ceiling(vmax)
    n = max(1, len(categories))
    group_w = plot_w / n
    bar_w = max(4.0, (group_w - 12) / max(1, len(names)))
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#888"/>']
    for t in range(5):
        v = vmax * t / 4
        y = top + plot_h - plot_h * t / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                    f'{esc(f"{v:.0%}" if percent else fmt_num(v))}</text>')
    x = left + 8
    for i, s in enumerate(names):
        body.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                    f'<text x="{x + 14}" y="15">{esc(s)}</text>')
        x += 24 + 7 * len(s)
    for c, cat in enumerate(categories):
        gx = left + c * group_w + 6
        for i, s in enumerate(names):
            v = series[s][c]
            h = plot_h * v / vmax
            bx = gx + i * bar_w
            tip = f"{cat} {s}: " + (f"{v:.1%}" if percent else fmt_num(v))
            body.append(f'<rect class="bar" x="{bx:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                        f'height="{max(h, 0.5):.1f}" fill="{PALETTE[i % len(PALETTE)]}"><title>{esc(tip)}</title></rect>')
        body.append(f'<text x="{left + c * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" '
                    f'text-anchor="middle">{esc(cat[:18])}</text>')
    return _svg(width, height, body, label)


def tick_label(v: float) -> str:
    """Short axis label: 1, 2.5, 0.05, 10k, 1.5M."""
    a = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def nice_ticks(lo: float, hi: float, log_x: bool, most: int = 6) -> list[float]:
    """Round tick values inside [lo, hi]: powers of ten (and 2x, 5x when few) on a log axis,
    multiples of a 1/2/2.5/5 x 10^k step on a linear one."""
    if hi <= lo:
        return [lo]
    if log_x:
        a, b = math.ceil(math.log10(max(lo, 1e-12)) - 1e-9), math.floor(math.log10(hi) + 1e-9)
        ticks = [10.0 ** k for k in range(a, b + 1)]
        if len(ticks) < 3:
            ticks = sorted(m * 10.0 ** k for k in range(a - 1, b + 1) for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi)
        return ticks
    step = _nice_ceiling((hi - lo) / (most - 1))
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def histogram(edges: list[float], series: dict[str, list[int]], label: str, x_label: str, log_x: bool = False,
              width: int = 640, height: int = 220, thresholds: list[dict] | None = None) -> str:
    """Histogram of pre-binned counts; several series are drawn as translucent overlaid bars; each
    threshold ({"stage", "key", "value"}) is a dashed vertical line labelled with its parameter."""
    left, right, top, bottom = 52, 28, 24, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(edges) - 1
    vmax = _nice_ceiling(max((max(c) for c in series.values() if c), default=0) or 1)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#888"/>']
    for t in range(5):
        v = vmax * t / 4
        y = top + plot_h - plot_h * t / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{esc(fmt_num(v))}</text>')
    colors = {"kept": KEPT, "rejected": REJECTED}
    x = left + 8
    for i, name in enumerate(series):
        col = colors.get(name, PALETTE[i % len(PALETTE)])
        body.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{col}" fill-opacity="0.7"/>'
                    f'<text x="{x + 14}" y="15">{esc(name)}</text>')
        x += 24 + 7 * len(name)
    bw = plot_w / max(n, 1)
    for i, (name, counts) in enumerate(series.items()):
        col = colors.get(name, PALETTE[i % len(PALETTE)])
        for b, c in enumerate(counts):
            if c <= 0:
                continue
            h = plot_h * c / vmax
            tip = f"{name}: {fmt_num(c)} in [{fmt_num(edges[b])}, {fmt_num(edges[b + 1])})"
            body.append(f'<rect class="bar" x="{left + b * bw:.1f}" y="{top + plot_h - h:.1f}" width="{max(bw - 1, 0.8):.1f}" '
                        f'height="{h:.1f}" fill="{col}" fill-opacity="0.7"><title>{esc(tip)}</title></rect>')
    lo, hi = edges[0], edges[-1]

    def xpos(v: float) -> float:
        if log_x:
            a, b = math.log10(max(lo, 1e-12)), math.log10(max(hi, 1e-12))
            f = (math.log10(max(v, 1e-12)) - a) / (b - a) if b > a else 0.0
        else:
            f = (v - lo) / (hi - lo) if hi > lo else 0.0
        return left + plot_w * min(max(f, 0.0), 1.0)

    for v in nice_ticks(lo, hi, log_x):
        xt = xpos(v)
        body.append(f'<line x1="{xt:.1f}" y1="{top + plot_h}" x2="{xt:.1f}" y2="{top + plot_h + 4}" stroke="#888"/>'
                    f'<text x="{xt:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#555">'
                    f'{esc(tick_label(v))}</text>')
    for k, t in enumerate(thresholds or []):
        xt = xpos(t["value"])
        name = f"{t['stage']}.{t['key']} = {fmt_num(t['value'])}"
        anchor = "end" if xt > left + plot_w * 0.6 else "start"
        dx = -4 if anchor == "end" else 4
        body.append(f'<line class="threshold" x1="{xt:.1f}" y1="{top}" x2="{xt:.1f}" y2="{top + plot_h}" '
                    f'stroke="#222" stroke-width="1.5" stroke-dasharray="5,3"><title>{esc(name)}</title></line>'
                    f'<text x="{xt + dx:.1f}" y="{top + 12 + 13 * k}" text-anchor="{anchor}" fill="#222" '
                    f'font-size="11">{esc(name)}</text>')
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                f'{esc(x_label + (" (log scale)" if log_x else ""))}</text>')
    return _svg(width, height, body, label)


def _nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= v (axis maximum)."""
    if v <= 0:
        return 1.0
    exp = math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10 ** exp >= v:
            return m * 10 ** exp
    return 10 ** (exp + 1)
