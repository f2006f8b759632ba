"""The local Ray of `curate run`: loopback only, quiet, nothing left after the driver dies,
Ctrl-C prints one line and the run resumes. Each test drives the real console entry point."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

PIPELINE = "name: hardening-cluster\nstages:\n  - op: extract\n    engine: resiliparse\n"
CURATE = [sys.executable, "-m", "curation", "run"]


def _start(tmp_path: Path, sample_dir: Path, out: Path, *extra: str, fault: str | None = None) -> subprocess.Popen:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(PIPELINE)
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    if fault:
        env["CURATION_FAULT"] = fault
    return subprocess.Popen(CURATE + [str(pipeline), "--input", str(sample_dir / "warc"), "--output", str(out),
                                      "--workers", "1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def _wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _hung(out: Path) -> bool:
    log = out / "logs" / "run.log"
    return log.exists() and "fault: hanging" in log.read_text(errors="replace")


def _listening(procs) -> list[tuple[str, str, int]]:
    found = []
    for p in procs:
        try:
            for c in p.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN:
                    found.append((p.name(), c.laddr.ip, c.laddr.port))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if getattr(addr, "ipv4_mapped", None):
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _alive(procs) -> list:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_local_ray_listens_on_loopback_only_and_dies_with_the_driver(tmp_path, sample_dir):
    out = tmp_path / "run"
    proc = _start(tmp_path, sample_dir, out, fault="hang:extract:0")
    try:
        _wait_for(lambda: _hung(out), 240, "the run to reach its worker")
        driver = psutil.Process(proc.pid)
        ray_procs = [p for p in driver.children(recursive=True) if "curation.engine.cluster" not in " ".join(p.cmdline())]
        sockets = _listening([driver, *ray_procs])
        names = {name for name, _, _ in sockets}
        assert "gcs_server" in names and any("raylet" in n for n in names), names  # the servers were seen at all
        assert any("Agent" in n for n in names), sockets
        assert all(_is_loopback(ip) for _, ip, _ in sockets), [s for s in sockets if not _is_loopback(s[1])]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # the watchdog ends every Ray process within seconds (Ray's own agents linger about 60 s)
        _wait_for(lambda: not _alive(ray_procs), 20, f"Ray's processes to exit: {_alive(ray_procs)}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    stderr = proc.stderr.read()
    # default output: ours only; Ray's banner, token warning and the workers' output are in the log
    assert "Token authentication" not in stderr and "Started a local Ray" not in stderr, stderr
    assert "fault: hanging" not in stderr
    log = (out / "logs" / "run.log").read_text()
    assert "Started a local Ray instance" in log and "fault: hanging" in log


def test_ctrl_c_prints_one_line_and_the_run_resumes(tmp_path, sample_dir):
    out = tmp_path / "run"
    proc = _start(tmp_path, sample_dir, out, fault="hang:extract:0")
    try:
        _wait_for(lambda: _hung(out), 240, "the run to reach its worker")
        ray_procs = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("curate: interrupted")
    _wait_for(lambda: not _alive(ray_procs), 20, f"Ray's processes to exit: {_alive(ray_procs)}")
    # the same command again (no fault) finishes the run; --verbose also prints Ray's log
    again = _start(tmp_path, sample_dir, out, "--verbose")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr[-3000:]
    assert "Started a local Ray instance" in stderr and "(resuming)" in stderr, stderr
    st = json.loads(subprocess.run([sys.executable, "-m", "curation", "status", str(out), "--json"],
                                   capture_output=True, text=True, check=True).stdout)
    ex = st["stages"]["extract"]
    assert ex["in"] == 67 and ex["in"] == ex["kept"] + ex["rejected"]
