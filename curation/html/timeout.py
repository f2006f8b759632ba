"""A wall-clock bound on one parser call (SIGALRM; effective in a process's main thread).

Ray runs task and (synchronous) actor method bodies on the worker's main thread, so the bound
holds there and in plain Python. In other threads the call runs unbounded and ``bounded`` says so
once on stderr rather than failing.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager


class PageTimeout(Exception):
    pass


_warned = False


def _raise(signum, frame):
    raise PageTimeout()


@contextmanager
def time_limit(seconds: float):
    global _warned
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        if seconds > 0 and not _warned:
            print("curation: page time limit not enforced outside the main thread", file=sys.stderr)
            _warned = True
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
