"""Issue 20, item 6 on object stores: ``run.lock`` on S3 is taken with conditional writes, so of two
processes recovering the same stale lock exactly one owns the run (against a real S3-protocol
server, moto, which implements If-None-Match and If-Match as S3 does)."""

from __future__ import annotations

import json
import multiprocessing as mp
import time

import pytest

from curation.run import conditional, lock
from curation.run.layout import RunLayout

STALE = {"host": "gone.example", "pid": 1, "token": "dead", "started": 0, "heartbeat": 0}


def _contend(uri: str, start, release, results) -> None:
    start.wait()
    try:
        rl = lock.RunLock(RunLayout(uri), heartbeat_s=3600).acquire()
        results.put(("won", rl.token))
        release.wait(60)  # hold it until the other one has tried, however slow the machine
        rl.release()
    except lock.LockedError:
        results.put(("refused", None))
    except Exception as e:  # noqa: BLE001 - a crash is what the test looks for
        results.put(("crashed", f"{type(e).__name__}: {e}"))


def test_two_processes_recovering_a_stale_s3_lock_one_wins(s3_server):
    ctx = mp.get_context("spawn")  # fresh HTTP clients in each process
    for trial in range(6):
        uri = f"s3://{s3_server['bucket']}/locks/run{trial}"
        path = RunLayout(uri).lock()
        conditional.put(path, json.dumps(STALE).encode(), if_absent=True)
        start, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_contend, args=(uri, start, release, results)) for _ in range(2)]
        for p in procs:
            p.start()
        time.sleep(2.0)  # both imported and waiting
        start.set()
        got = sorted(results.get(timeout=60)[0] for _ in procs)  # both have tried, the winner still holds it
        release.set()
        for p in procs:
            p.join(60)
        assert got == ["refused", "won"], (trial, got)
        assert conditional.read(path) is None  # the winner released it


def test_a_live_s3_lock_refuses_and_a_stale_one_is_recorded(s3_server):
    uri = f"s3://{s3_server['bucket']}/locks/live"
    first = lock.RunLock(RunLayout(uri), heartbeat_s=3600).acquire()
    with pytest.raises(lock.LockedError, match="in use by another run"):
        lock.RunLock(RunLayout(uri), heartbeat_s=3600).acquire()
    first.release()
    assert conditional.read(RunLayout(uri).lock()) is None

    path = RunLayout(uri).lock()
    conditional.put(path, json.dumps(STALE).encode(), if_absent=True)
    rl = lock.RunLock(RunLayout(uri), heartbeat_s=3600).acquire()
    assert rl.recovered["token"] == "dead" and lock.read(RunLayout(uri))["token"] == rl.token
    rl.release()


def test_a_conditional_write_that_lost_says_so(s3_server):
    path = f"{s3_server['bucket']}/locks/cond"
    etag = conditional.put(path, b"one", if_absent=True)
    with pytest.raises(conditional.ConditionFailed):
        conditional.put(path, b"two", if_absent=True)
    new = conditional.put(path, b"three", if_etag=etag)
    with pytest.raises(conditional.ConditionFailed):
        conditional.put(path, b"four", if_etag=etag)  # the version we read is gone
    assert conditional.read(path) == conditional.Versioned(b"three", new)
