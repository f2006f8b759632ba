"""Driver for tests/engine/test_cluster_nodes.py, run in its own process (the test session has its
own in-process Ray): a Ray cluster of a head and three worker nodes on loopback
(``ray.cluster_utils.Cluster``), one pipeline run with default ``--workers`` during which the node
of the worker holding a shard of a map stage, then of a global stage's apply, is removed abruptly
(``remove_node(..., allow_graceful=False)``: a crash or a spot preemption), then a reference run
of the same pipeline on the one node left. Prints one JSON line: what was lost and whether the
outputs are byte-identical."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from ray.cluster_utils import Cluster

import ray
from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from curation.run.layout import RunLayout

PIPELINE = {
    "name": "node-loss",
    "input": {"shard_max_bytes": 150_000, "batch_docs": 16},
    "stages": [{"op": "extract", "engine": "resiliparse"}, {"op": "url_dedup"}],
}
LOSSES = [("extract", 1), ("url_dedup", 2)]  # (stage, shard): a map stage, then a global stage's apply


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))
            if p.relative_to(root).parts[0] != "stats"}


def main(inputs: list[str], out: Path) -> dict:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(3)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    run = out / "run"
    layout = RunLayout(str(run))
    fault = ",".join(f"lose:{s}:{i}" for s, i in LOSSES)
    result: dict = {"lost": []}
    errors: list[BaseException] = []

    def go():
        try:
            run_pipeline(parse_pipeline(PIPELINE), inputs, str(run), RunOptions(progress=False, fault=fault))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t0 = time.monotonic()
    runner = threading.Thread(target=go)
    runner.start()
    pending = list(LOSSES)
    while runner.is_alive() and pending:
        stage, shard = pending[0]
        marker = Path(layout.fault_marker(stage, shard))
        if marker.exists():
            node_id = json.loads(marker.read_text())["node_id"]
            node = next(n for n in nodes if n.node_id == node_id)
            cluster.remove_node(node, allow_graceful=False)
            nodes.remove(node)
            result["lost"].append({"stage": stage, "shard": shard, "after_s": round(time.monotonic() - t0, 1)})
            pending.pop(0)
        time.sleep(0.2)
    runner.join(600)
    result["error"] = repr(errors[0]) if errors else None
    result["run_s"] = round(time.monotonic() - t0, 1)
    ref = out / "reference"
    run_pipeline(parse_pipeline(PIPELINE), inputs, str(ref), RunOptions(workers=1, progress=False))
    a, b = files(run), files(ref)
    result["files"] = len(a)
    result["identical"] = a == b
    result["differ"] = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))[:10]
    ray.shutdown()
    cluster.shutdown()
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[2:], Path(sys.argv[1]))), flush=True)
