"""Progress of a stage: a bar with shards (or key partitions) done of total, the rate and the time
left; and of the whole run: an ``overall`` line with stages done of total and an ETA.

The bars are tqdm's (a well-kept library: terminal width, redraws, Unicode). On a terminal a
stage's bar redraws in place and stays as one line when the stage ends; in logs (``ray job
logs``, CI) each update is one plain line (tqdm's own format, ASCII), printed at most every
``log_every_s`` seconds and when the stage ends - never a redrawn line written twice. Steps over
key partitions (``:combine``, ``:round N``) count partitions; the rest count shards. Rates are
rounded to three significant figures; a step that sees no documents shows its shards or
partitions per second, not "0 docs/s".

The ``overall`` line is printed when a stage (a fused map group, or a global stage's last step)
ends: ``overall  [####....] 3/9 stages  1m02s elapsed, eta 2m04s`` (the ETA assumes the stages
left take as long as the ones done in this process). :func:`start_run` sets the run's number of
stages; without it there is no overall line. With ``layout`` set, the state is also
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

from tqdm import tqdm

from curation.run import progress as run_progress
from curation.run.layout import RunLayout

BAR_FORMAT = "{desc:<22} [{bar:24}] {n_fmt}/{total_fmt} {unit}{postfix}"
ASCII_BAR = ".#"


#: At most one ``progress.json`` write per this many seconds while a stage runs (plus its first
#: and last): ``curate status`` needs no finer grain, and an S3 write costs 4 requests.
RECORD_EVERY_S = 1.0


def _fmt_secs(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def round3(x: float) -> str:
    """``x`` to three significant figures, with thousands separators: 12,236 -> 12,200; 4.567 -> 4.57."""
    if x == 0 or x != x:
        return "0"
    from math import floor, log10

    digits = 2 - int(floor(log10(abs(x))))
    r = round(x, digits)
    return f"{r:,.{max(digits, 0)}f}"


def unit_of(label: str, total: int) -> str:
    """What a step counts: key partitions for ``:combine`` and ``:round N`` steps, else shards."""
    what = "partition" if label.endswith(":combine") or ":round " in label else "shard"
    return what if total == 1 else what + "s"


class RunProgress:
    """Stages done of the run's total, and an ETA; one line each time a stage ends."""

    def __init__(self, total: int, stream=None, enabled: bool = True, done: int = 0):
        self.total = total
        self.done = done
        self.fresh = 0
        self.start = time.monotonic()
        self.stream = stream or sys.stderr
        self.enabled = enabled

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        eta = ""
        if self.fresh and self.done < self.total:
            eta = f", eta {_fmt_secs(elapsed / self.fresh * (self.total - self.done))}"
        return tqdm.format_meter(self.done, self.total, elapsed, prefix="overall", ascii=ASCII_BAR,
                                 unit="stage" if self.total == 1 else "stages", bar_format=BAR_FORMAT,
                                 postfix=f"{_fmt_secs(elapsed)} elapsed{eta}")

    def stage_done(self, fresh: bool) -> None:
        global _run
        self.done += 1
        self.fresh += int(fresh)
        if self.enabled:
            tqdm.write(self.line(), file=self.stream)
            self.stream.flush()
        if self.done >= self.total and _run is self:
            _run = None  # the run is over: later progress bars (another run, a test) are not counted


_run: RunProgress | None = None


def start_run(total_stages: int, enabled: bool = True, stream=None) -> RunProgress:
    """The run's overall line: ``total_stages`` stage groups; every StageProgress closed after this
    counts toward it when it ends a stage. Returns it (the module keeps the current one)."""
    global _run
    _run = RunProgress(total_stages, stream, enabled)
    return _run


def ends_stage(label: str) -> bool:
    """A map group's only step, or a global stage's last (``:apply``) or only (resumed, done) one."""
    return ":" not in label or label.endswith(":apply")


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
        self.unit = unit_of(label, total)
        self.bar = None  # tqdm's live bar, on a terminal
        self.closed = False
        if enabled and self.tty:
            self.bar = tqdm(total=total, initial=done, desc=self.label, unit=self.unit, bar_format=BAR_FORMAT,
                            file=self.stream, leave=True, dynamic_ncols=True, mininterval=0.2)
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

    def _postfix(self) -> str:
        parts = [f"{self.skipped} resumed"] if self.skipped else []
        elapsed = time.monotonic() - self.start
        if self.docs:
            parts.append(f"{round3(self.rate())} docs/s")
        elif self.done > self.skipped and elapsed > 0:
            parts.append(f"{round3((self.done - self.skipped) / elapsed)} {self.unit.rstrip('s')}s/s")
        eta = self.eta()
        if eta is not None and self.done < self.total:
            parts.append(f"eta {_fmt_secs(eta)}")
        return ", ".join(parts)

    def line(self) -> str:
        return tqdm.format_meter(self.done, self.total, time.monotonic() - self.start, prefix=self.label,
                                 ascii=ASCII_BAR, unit=self.unit, bar_format=BAR_FORMAT, postfix=self._postfix())

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
        if self.bar is not None:  # tqdm redraws at most every mininterval
            self.bar.set_postfix_str(self._postfix(), refresh=False)
            self.bar.update(self.done - self.bar.n)
            if final:
                self.bar.close()
        elif final or (self.done < self.total and now - self.last_log >= self.log_every_s):
            # the last shard's line is the closing one: printed once, by close()
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self.last_log = now

    def flush(self) -> None:
        """Record the current count now (a stage that stops part-way): ``progress.json`` must agree
        with the committed shards, whatever the one-write-per-second throttle held back."""
        if self.layout is not None:
            self._record(final=False)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._show(final=True)
        if _run is not None and ends_stage(self.label):
            _run.stage_done(fresh=self.done > self.skipped)
