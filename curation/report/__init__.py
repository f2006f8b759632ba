"""``curate report``: a run's self-contained ``report.html`` (inline SVG charts, no network).

:func:`build_report` gathers the figures with DuckDB (:mod:`curation.report.data`), draws them
(:mod:`curation.report.svg`, :mod:`curation.report.render`) and writes ``<run>/report.html``
atomically; the file never leaves the run folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from curation.engine.layout import RunLayout, tmp_name

REPORT_FILE = "report.html"


def build_report(output: str | os.PathLike, name: str = REPORT_FILE) -> Path:
    """Write ``<output>/<name>`` and return its path; ``name`` may not lead outside the run folder."""
    from curation.report.data import gather
    from curation.report.render import render

    layout = RunLayout(output)
    target = layout.inside(layout.root / name)
    html = render(gather(layout.root))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(target)
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
    return target


__all__ = ["build_report", "REPORT_FILE"]
