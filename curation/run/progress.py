"""``progress.json``: per stage label, shards done of total, documents, start and last-update times.

Written by the driver only (each update replaces the file atomically); read by ``curate status``
to show a running job's rate and time left. Entry order is the order the stages ran in.
"""

from __future__ import annotations

import json
import time

from curation.io import fs as fsx
from curation.run.commit import write_bytes_atomic
from curation.run.layout import RunLayout


def read(layout: RunLayout) -> dict:
    """The recorded state, or ``{}`` when there is none (or it cannot be parsed)."""
    try:
        return json.loads(fsx.read_bytes(layout.fs, layout.progress()).decode("utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return {}


def update(layout: RunLayout, label: str, done: int, total: int, resumed: int, docs: int, started: float,
           finished: bool, now: float | None = None) -> dict:
    """Replace ``label``'s entry (moved last) and mark it the current stage."""
    state = read(layout)
    now = time.time() if now is None else now
    stages = state.setdefault("stages", {})
    stages.pop(label, None)
    stages[label] = {"done": done, "total": total, "resumed": resumed, "docs": docs,
                     "started": started, "updated": now, "finished": finished}
    state["updated"] = now
    state["current"] = label
    write_bytes_atomic(layout.fs, layout.progress(), (json.dumps(state, indent=1) + "\n").encode("utf-8"))
    return state
