"""Progress of a stage: a bar with shards done of total, documents per second and time left.

On a terminal the bar redraws in place; in logs (``ray job logs``, CI) it prints a line at most
every ``log_every_s`` seconds and when the stage ends. With ``layout`` set, the state is also
recorded in the run's ``progress.json`` (:mod:`curation.run.progress`), which ``curate status``
reads to show a running job's rate and time left: when the stage starts, at most once every
``record_every_s`` seconds while it runs, and when it ends. On an object store each record is a
GET, a PUT, a copy and a delete from the driver; unthrottled, a snapshot's ~90,000 shards x ~30
steps would make 2.7 million of them.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from curation.run import progress as run_progress
from curation.run.layout import RunLayout


#: At most one ``progress.json`` write per this many seconds while a stage runs (plus its first
#: and last): ``curate status`` needs no finer grain, and an S3 write costs 4 requests.
RECORD_EVERY_S = 1.0


def _fmt_secs(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class StageProgress:
    def __init__(self, label: str, total: int, done: int = 0, stream=None, log_every_s: float = 10.0,
                 enabled: bool = True, layout: RunLayout | None = None, record_every_s: float = RECORD_EVERY_S,
                 clock: Callable[[], float] = time.monotonic):
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
        self.record_every_s = record_every_s
        self.clock = clock
        self.records = 0
        self.last_record = clock()
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
        self.records += 1
        self.last_record = self.clock()

    def _show(self, final: bool) -> None:
        if self.layout is not None and (final or self.clock() - self.last_record >= self.record_every_s):
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

    def flush(self) -> None:
        """Record the current count now (a stage that stops part-way): ``progress.json`` must agree
        with the committed shards, whatever the one-write-per-second throttle held back."""
        if self.layout is not None:
            self._record(final=False)

    def close(self) -> None:
        self._show(final=True)
