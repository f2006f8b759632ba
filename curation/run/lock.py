"""``run.lock``: one writer per run folder.

The driver takes the lock when a run starts and removes it when the run ends (normally or with an
error). The lock names its owner (host, pid) and carries a heartbeat the driver refreshes every
``HEARTBEAT_S``. A second run on the same folder is refused with the owner named, unless the
lock is stale:

* same host and the owner pid is gone (a driver that was killed), or
* the heartbeat is older than ``LEASE_S`` (a driver on another machine that stopped): a lease.

On a local disk the lock file is created exclusively (``O_EXCL``) and a stale one is moved aside
atomically (rename, then a check of its token), so two processes recovering it cannot both win. On
S3 the lock is created with a conditional write (``If-None-Match: *``) and a stale one is replaced
only if it is still the version that was judged stale (``If-Match: <ETag>``,
:mod:`curation.run.conditional`): exactly one recovering process wins there too. Other object
stores (GCS through ``pyarrow.fs``) get a lease object, written then read back to check that this
run won; two drivers starting within the same second there can both believe they won.
``curate status`` uses :func:`state` to tell a running driver from one that died ("stopped").
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

from curation.io import fs as fsx
from curation.run import conditional
from curation.run.commit import write_bytes_atomic
from curation.run.layout import RunLayout

#: seconds between heartbeats, and the age after which a heartbeat means the owner is gone.
#: Ours: a driver blocked on a long Ray call still runs its heartbeat thread, so 4 missed beats
#: mean the process is gone or cut off.
HEARTBEAT_S = 30.0
LEASE_S = 120.0


class LockedError(RuntimeError):
    """Another live run owns the folder."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read(layout: RunLayout) -> dict | None:
    try:
        return json.loads(fsx.read_bytes(layout.fs, layout.lock()).decode("utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return None


def is_live(owner: dict, now: float | None = None) -> bool:
    """Whether the lock's owner still runs (pid check on its own host, else the lease)."""
    now = time.time() if now is None else now
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        return _pid_alive(owner["pid"])
    return now - float(owner.get("heartbeat", 0)) <= LEASE_S


def state(layout: RunLayout) -> str:
    """``"held"`` (a live driver owns the folder), ``"stale"`` (its owner died) or ``"free"``."""
    owner = read(layout)
    if owner is None:
        return "free"
    return "held" if is_live(owner) else "stale"


def describe(owner: dict) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(owner.get("started", 0)))
    return f"host {owner.get('host')} pid {owner.get('pid')} (since {since} UTC)"


class RunLock:
    """Context manager: ``with RunLock(layout): ...`` owns the run folder for the block."""

    def __init__(self, layout: RunLayout, heartbeat_s: float = HEARTBEAT_S):
        self.layout = layout
        self.heartbeat_s = heartbeat_s
        self.token = uuid.uuid4().hex
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": self.token,
                      "started": time.time(), "heartbeat": time.time()}
        self.recovered: dict | None = None
        self._conditional = layout.uri.startswith("s3://")  # S3: conditional writes decide ownership
        self._etag: str | None = None  # S3: the version of the lock this run wrote last
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        return (json.dumps(self.owner, indent=1) + "\n").encode("utf-8")

    def acquire(self) -> "RunLock":
        fs, path = self.layout.fs, self.layout.lock()
        if self._conditional:
            self._acquire_conditional(path)
            return self._start_heartbeat()
        old = read(self.layout)
        if old is not None:
            if is_live(old):
                raise LockedError(f"{self.layout.uri} is in use by another run: {describe(old)}; "
                                  f"wait for it to end, or remove {self.layout.display(path)} if it is gone")
            self.recovered = old  # stale: its driver died
            if self.layout.is_local:
                self._move_stale_aside(path, old)
            else:
                try:
                    fs.delete_file(path)
                except FileNotFoundError:
                    pass  # another process recovered it first: the read-back below decides
        fsx.makedirs(fs, self.layout.root)
        if self.layout.is_local:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                raise LockedError(f"{self.layout.uri} is in use by another run (it took the lock just now)") from None
            with os.fdopen(fd, "wb") as f:
                f.write(self._body())
        else:
            write_bytes_atomic(fs, path, self._body())
            now = read(self.layout)
            if not now or now.get("token") != self.token:
                raise LockedError(f"{self.layout.uri} is in use by another run (it took the lease just now)")
        return self._start_heartbeat()

    def _start_heartbeat(self) -> "RunLock":
        self._thread = threading.Thread(target=self._beat, name="run-lock-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _acquire_conditional(self, path: str) -> None:
        """S3: create the lock if absent; replace a stale one only if it is still the version read."""
        cur = conditional.read(path)
        if cur is None:
            try:
                self._etag = conditional.put(path, self._body(), if_absent=True)
            except conditional.ConditionFailed:
                raise LockedError(f"{self.layout.uri} is in use by another run (it took the lock just now)") from None
            return
        try:
            old = json.loads(cur.body.decode("utf-8"))
        except ValueError:
            old = {}  # an unreadable lock names no live owner: stale
        if old and is_live(old):
            raise LockedError(f"{self.layout.uri} is in use by another run: {describe(old)}; "
                              f"wait for it to end, or remove {self.layout.display(path)} if it is gone")
        self.recovered = old
        try:
            self._etag = conditional.put(path, self._body(), if_etag=cur.etag)
        except conditional.ConditionFailed:
            raise LockedError(f"{self.layout.uri} is in use by another run (it recovered the stale lock just now)") from None

    def _move_stale_aside(self, path: str, stale: dict) -> None:
        """Remove the stale lock atomically: rename it to a name of our own, then check that what
        moved is the stale lock (its content, token included; an inode number can be reused at
        once). Two processes recovering the same stale lock cannot both win: the second rename finds nothing (and the exclusive create decides), or moves the
        first one's new lock, which it puts back (a hard link never replaces) before refusing."""
        aside = f"{path}.stale-{self.token}"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return  # another process moved it first
        try:
            moved = json.loads(open(aside, "rb").read().decode("utf-8"))
        except (OSError, ValueError):
            moved = {}
        if moved == stale:
            os.unlink(aside)
            return
        try:
            os.link(aside, path)  # not the stale lock: another run's new one; give it back
        except FileExistsError:
            pass
        os.unlink(aside)
        raise LockedError(f"{self.layout.uri} is in use by another run (it recovered the stale lock just now)")

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            cur = read(self.layout)
            if not cur or cur.get("token") != self.token:
                return  # someone removed or took the lock: stop refreshing it
            self.owner["heartbeat"] = time.time()
            try:
                if self._conditional:
                    self._etag = conditional.put(self.layout.lock(), self._body(), if_etag=self._etag)
                else:
                    write_bytes_atomic(self.layout.fs, self.layout.lock(), self._body())
            except conditional.ConditionFailed:
                return  # replaced since our last beat: no longer ours
            except Exception:  # noqa: BLE001 - a missed beat (network); the next one tries again
                pass

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        cur = read(self.layout)
        if cur and cur.get("token") == self.token:
            try:
                self.layout.fs.delete_file(self.layout.lock())
            except FileNotFoundError:
                pass

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
