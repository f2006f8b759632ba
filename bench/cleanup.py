"""After a SIGKILL of the driver: how long Ray's processes outlive it, and where they listened.

Side by side, in one run, a driver process that starts a local Ray

* ``plain``: as ``ray.init(address="local")`` does by default;
* ``curation``: through ``curation.engine.cluster.start`` (loopback only, with the watchdog);

runs one task, then is killed with SIGKILL. For each: the listening sockets of Ray's processes
(non-loopback ones counted) and the seconds until the last of them has exited.

    .venv/bin/python bench/cleanup.py [--limit 120]

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DRIVER = """
import os, sys, time
if sys.argv[1] == "curation":
    from curation.engine.cluster import start
    ray = start(None, 1, sys.argv[2]).ray
else:
    import ray
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
ray.get(ray.remote(lambda: os.getpid()).remote())
print("READY", flush=True)
time.sleep(3600)
"""


def _loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    return (getattr(addr, "ipv4_mapped", None) or addr).is_loopback


def measure(mode: str, limit: float) -> dict:
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, mode, str(Path(tmp) / "run.log")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        for line in proc.stdout:
            if "READY" in line:
                break
        procs = [p for p in psutil.Process(proc.pid).children(recursive=True)
                 if "curation.engine.cluster" not in " ".join(p.cmdline())]
        sockets = []
        for p in [psutil.Process(proc.pid), *procs]:
            try:
                sockets += [c.laddr.ip for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
            except psutil.NoSuchProcess:
                pass
        proc.kill()
        proc.wait()
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            if not alive:
                break
            time.sleep(0.2)
        gone_s = time.monotonic() - t0
        for p in alive:  # past the limit: clean up what this benchmark started
            p.kill()
    return {"processes": len(procs), "listening": len(sockets),
            "listening_not_loopback": sum(not _loopback(ip) for ip in sockets),
            "last_exit_s": round(gone_s, 1), "alive_at_limit": len(alive)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=float, default=120.0, help="stop waiting after this many seconds")
    args = ap.parse_args()
    results = {mode: measure(mode, args.limit) for mode in ("plain", "curation")}
    for mode, r in results.items():
        print(f"{mode:9} {r['processes']} processes, {r['listening']} listening sockets "
              f"({r['listening_not_loopback']} not loopback), last exit {r['last_exit_s']} s after SIGKILL")
    ratio = results["plain"]["last_exit_s"] / max(results["curation"]["last_exit_s"], 0.1)
    print(f"after a SIGKILL of the driver, Ray's processes are gone {ratio:.0f}x sooner with the watchdog")
    print(json.dumps({"plain": results["plain"], "curation": results["curation"], "ratio": round(ratio, 1)}))


if __name__ == "__main__":
    main()
