"""``curate report``: a run's self-contained ``report.html`` (inline SVG charts, no network).

:func:`build_report` gathers the figures with DuckDB (:mod:`curation.report.data`), draws them
(:mod:`curation.report.svg`, :mod:`curation.report.render`) and writes ``<run>/report.html``
atomically; the file never leaves the run folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from curation.run.commit import write_bytes_atomic
from curation.run.layout import REPORT, RunLayout

REPORT_FILE = REPORT


def build_report(output: str | os.PathLike, name: str = REPORT_FILE) -> Path | str:
    """Write ``<output>/<name>`` and return its path (a URI on object stores); ``name`` may not
    lead outside the run folder."""
    from curation.report.data import gather
    from curation.report.render import render

    layout = RunLayout.of(output)
    target = layout.report(name)
    html = render(gather(layout))
    write_bytes_atomic(layout.fs, target, html.encode("utf-8"))
    return Path(target) if layout.is_local else layout.display(target)


__all__ = ["build_report", "REPORT_FILE"]
