"""Issue 22: a run on a multi-node Ray cluster survives the abrupt loss of a node in a map stage
and in a global stage (default ``--workers``: one worker per CPU of the cluster), and gives the
same bytes as a one-worker run. The cluster (head + 3 worker nodes on loopback) lives in its own
process, ``node_loss_driver.py``, because this session already holds an in-process Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_losing_a_node_in_a_map_and_in_a_global_stage(sample_dir, tmp_path):
    inputs = [str(sample_dir / "warc"), str(sample_dir / "html" / "readability")]
    env = {**os.environ, "RAY_DEDUP_LOGS": "0"}
    proc = subprocess.run([sys.executable, str(HERE / "node_loss_driver.py"), str(tmp_path), *inputs],
                          capture_output=True, text=True, timeout=400, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [(x["stage"], x["shard"]) for x in res["lost"]] == [("extract", 1), ("url_dedup", 2)], res
    assert res["error"] is None, res
    assert "retrying on a live worker" in proc.stderr
    assert res["files"] > 0 and res["identical"], res
