"""Progress of a stage: a bar with shards done of total, documents per second and time left.

On a terminal the bar redraws in place; in logs (``ray job logs``, CI) it prints a line at most
every ``log_every_s`` seconds and when the stage ends. With ``run_dir`` set, every update is also
recorded in ``<run_dir>/progress.json`` (one entry per stage label: shards done of total, documents,
start and last-update times), which ``curate status`` reads to show a running job's rate and time left.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

PROGRESS_FILE = "progress.json"


def _fmt_secs(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class StageProgress:
    def __init__(self, label: str, total: int, done: int = 0, stream=None, log_every_s: float = 10.0,
                 enabled: bool = True, run_dir: str | os.PathLike | None = None):
        self.label = label
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.started_at = time.time()
        self.total = total
        self.done = done
        self.skipped = done
        self.docs = 0
        self.start = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.log_every_s = log_every_s
        self.last_log = 0.0
        self.enabled = enabled
        if self.run_dir is not None:
            self._record(final=False)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.docs / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        fresh = self.done - self.skipped
        if fresh <= 0:
            return None
        per_shard = (time.monotonic() - self.start) / fresh
        return per_shard * (self.total - self.done)

    def line(self) -> str:
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        eta = self.eta()
        eta_s = f" eta {_fmt_secs(eta)}" if eta is not None and self.done < self.total else ""
        resumed = f" ({self.skipped} resumed)" if self.skipped else ""
        return (f"{self.label:<22} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} shards"
                f"{resumed}  {self.rate():,.0f} docs/s{eta_s}")

    def advance(self, shards: int = 1, docs: int = 0) -> None:
        self.done += shards
        self.docs += docs
        self._show(final=False)

    def _record(self, final: bool) -> None:
        """Update this stage's entry in ``progress.json`` (written by the driver only, atomically)."""
        path = self.run_dir / PROGRESS_FILE
        try:
            state = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            state = {}
        now = time.time()
        stages = state.setdefault("stages", {})
        stages.pop(self.label, None)  # re-insert last: the entry order is the order stages ran in
        stages[self.label] = {"done": self.done, "total": self.total, "resumed": self.skipped, "docs": self.docs,
                              "started": self.started_at, "updated": now, "finished": final}
        state["updated"] = now
        state["current"] = self.label
        tmp = path.with_name(f".{PROGRESS_FILE}.tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n")
        os.replace(tmp, path)

    def _show(self, final: bool) -> None:
        if self.run_dir is not None:
            self._record(final)
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if final else ""))
            self.stream.flush()
        elif final or now - self.last_log >= self.log_every_s:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self.last_log = now

    def close(self) -> None:
        self._show(final=True)
