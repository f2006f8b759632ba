"""Progress of a stage: a bar with shards done of total, documents per second and time left.

On a terminal the bar redraws in place; in logs (``ray job logs``, CI) it prints a line at most
every ``log_every_s`` seconds and when the stage ends. With ``layout`` set, every update is also
recorded in the run's ``progress.json`` (:mod:`curation.run.progress`), which ``curate status``
reads to show a running job's rate and time left.
"""

from __future__ import annotations

import sys
import time

from curation.run import progress as run_progress
from curation.run.layout import RunLayout


def _fmt_secs(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class StageProgress:
    def __init__(self, label: str, total: int, done: int = 0, stream=None, log_every_s: float = 10.0,
                 enabled: bool = True, layout: RunLayout | None = None):
        self.label = label
        self.layout = layout
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
        if self.layout is not None:
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
        run_progress.update(self.layout, self.label, self.done, self.total, self.skipped, self.docs,
                            self.started_at, final)

    def _show(self, final: bool) -> None:
        if self.layout is not None:
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
