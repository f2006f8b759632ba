"""Helpers for the service tests: a real Ray head started with ``ray start`` (its own free ports and
temp dir, dashboard on 127.0.0.1, token auth on), stopped through the process it started; a small
run folder made by the real engine; and headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PIPELINE = HERE / "pipeline.yaml"
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def cluster_env() -> dict:
    env = dict(os.environ)
    env["RAY_AUTH_MODE"] = "token"  # Ray 2.60 token auth: the cluster and its clients both use it
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # job entrypoints find this venv's python
    env.pop("RAY_ADDRESS", None)
    return env


class RayHead:
    """``ray start --head --block`` in its own session; ``stop`` ends that session only."""

    def __init__(self):
        (self.gcs_port, self.dashboard_port, agent_http, agent_grpc, runtime_env, client, obj, node,
         metrics) = free_ports(9)
        self.temp_dir = tempfile.mkdtemp(prefix="rs", dir="/tmp")  # short: Ray's socket paths have a length limit
        self.address = f"http://127.0.0.1:{self.dashboard_port}"
        self.log = Path(self.temp_dir) / "ray-start.log"
        cmd = [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
               "--port", str(self.gcs_port), "--dashboard-host", "127.0.0.1",
               "--dashboard-port", str(self.dashboard_port), "--dashboard-agent-listen-port", str(agent_http),
               "--dashboard-agent-grpc-port", str(agent_grpc), "--runtime-env-agent-port", str(runtime_env),
               "--ray-client-server-port", str(client), "--object-manager-port", str(obj),
               "--node-manager-port", str(node), "--metrics-export-port", str(metrics),
               "--min-worker-port", "0", "--max-worker-port", "0",
               "--temp-dir", self.temp_dir, "--num-cpus", "2", "--disable-usage-stats"]
        self.proc = subprocess.Popen(cmd, env=cluster_env(), stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.address}/api/version", timeout=2)
                return  # token auth off (should not happen; the test checks)
            except urllib.error.HTTPError as e:
                if e.code in (401, 403):  # up, and refusing unauthenticated requests
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise RuntimeError(f"ray head not ready after {START_TIMEOUT_S}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:  # anything left in the session this fixture created (its process group)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(binary: str, url: str, *extra: str, timeout: int = 90) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chr")
    try:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                              capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_pixels(data: bytes):
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG (what Chromium writes) to an (h, w, channels) array."""
    import struct
    import zlib

    import numpy as np

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            ch = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * ch + 1)
    out = np.zeros((height, width * ch), np.uint8)
    prev = np.zeros(width * ch, np.uint8)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:]
        if f == 0:
            cur = line.copy()
        elif f == 1:  # Sub: running sum per channel
            cur = (np.cumsum(line.reshape(width, ch).astype(np.int64), axis=0) % 256).astype(np.uint8).ravel()
        elif f == 2:  # Up
            cur = line + prev
        else:  # Average, Paeth: sequential within the row
            cur = bytearray(line.tobytes())
            pb = prev.tobytes()
            for i in range(len(cur)):
                a = cur[i - ch] if i >= ch else 0
                b = pb[i]
                if f == 3:
                    cur[i] = (cur[i] + (a + b) // 2) & 0xFF
                else:
                    c = pb[i - ch] if i >= ch else 0
                    pp = a + b - c
                    pa, pbb, pc = abs(pp - a), abs(pp - b), abs(pp - c)
                    cur[i] = (cur[i] + (a if pa <= pbb and pa <= pc else b if pbb <= pc else c)) & 0xFF
            cur = np.frombuffer(bytes(cur), np.uint8)
        out[y] = cur
        prev = out[y]
    return out.reshape(height, width, ch)


def color_counts(img, colors: dict[str, tuple[int, int, int]], tol: int = 40) -> tuple[int, dict[str, int]]:
    """How many pixels are not white, and how many are within ``tol`` (L1) of each named colour."""
    import numpy as np

    rgb = img[..., :3].astype(np.int32)
    non_white = int((rgb < 245).any(axis=-1).sum())
    counts = {name: int((np.abs(rgb - np.array(c)).sum(axis=-1) <= tol).sum()) for name, c in colors.items()}
    return non_white, counts
