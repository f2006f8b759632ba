"""The cost of object storage: one pipeline over the bundled sample from local disk to local disk,
and from S3 to S3, side by side in one Ray session.

The S3 side is a real S3-protocol server on loopback (``moto_server`` from ``moto[server]``, the
test extra), reached through pyarrow's S3 filesystem exactly as AWS or MinIO would be; the input
is uploaded first (not timed). Runs alternate local / S3 ``--repeats`` times; each wall time
includes starting the workers (Ray itself is started once). The S3 overhead is the ratio of the
median wall times. Both runs must end with the same mix documents (ids and text) and the same
per-stage counts, or the script fails.

    .venv/bin/python bench/storage.py [--pipeline pipelines/llama3.yaml] [--workers 2] [--repeats 1]

Over a loopback server the figure measures our protocol (listings, one object per file, the
commit as copy + delete, per-shard progress updates), not network bandwidth.
The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUCKET = "bench"


def start_moto() -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).parent / "moto_server"
    exe = str(exe) if exe.exists() else shutil.which("moto_server")
    if not exe:
        sys.exit("moto_server not found: pip install 'moto[server]' (it is in the test extra)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port}"


def mix_documents(out: str) -> list[tuple]:
    from curation.query import query

    try:
        return query(out, "SELECT id, epoch, text FROM mix_occurrences ORDER BY id, epoch")[1]
    except Exception:  # a pipeline without a mix stage: the last stage's documents
        return query(out, "SELECT id, text FROM final ORDER BY id")[1]


def counts(out: str) -> dict:
    from curation.status import run_status

    return {k: (v["in"], v["kept"], v["rejected"]) for k, v in run_status(out)["stages"].items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", default=str(ROOT / "pipelines" / "llama3.yaml"))
    ap.add_argument("--input", default=str(ROOT / "sample"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()

    proc, endpoint = start_moto()
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_REGION": "us-east-1"})
    import ray
    from pyarrow import fs as pafs

    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.io import fs as fsx

    tmp = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    try:
        s3, _ = fsx.resolve(f"s3://{BUCKET}")
        pafs.S3FileSystem(endpoint_override=endpoint.split("//")[1], scheme="http", region="us-east-1",
                          allow_bucket_creation=True).create_dir(BUCKET)
        t0 = time.perf_counter()
        pafs.copy_files(args.input, f"{BUCKET}/input", source_filesystem=pafs.LocalFileSystem(), destination_filesystem=s3)
        upload_s = time.perf_counter() - t0
        cfg = load_pipeline(args.pipeline)
        ray.init(address="local", num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        times: dict[str, list[float]] = {"local": [], "s3": []}
        outs = {}
        for r in range(args.repeats):
            for kind in ("local", "s3"):
                inp = args.input if kind == "local" else f"s3://{BUCKET}/input/"
                out = str(tmp / f"local-{r}") if kind == "local" else f"s3://{BUCKET}/runs/s3-{r}"
                t0 = time.perf_counter()
                run_pipeline(cfg, [inp], out, RunOptions(workers=args.workers, progress=False))
                times[kind].append(time.perf_counter() - t0)
                outs[kind] = out
                print(f"{kind:<6} run {r}: {times[kind][-1]:.1f}s", file=sys.stderr)
        same_docs = mix_documents(outs["local"]) == mix_documents(outs["s3"])
        same_counts = counts(outs["local"]) == counts(outs["s3"])
        local_s, s3_s = statistics.median(times["local"]), statistics.median(times["s3"])
        n_docs = len(mix_documents(outs["s3"]))
        print(f"local disk: {local_s:.1f}s   s3 (moto, loopback): {s3_s:.1f}s   s3/local: {s3_s / local_s:.2f}x   "
              f"same mix documents: {same_docs}   same stage counts: {same_counts}")
        print(json.dumps({"bench": "storage", "pipeline": Path(args.pipeline).name, "workers": args.workers,
                          "repeats": args.repeats, "local_s": round(local_s, 2), "s3_s": round(s3_s, 2),
                          "s3_over_local": round(s3_s / local_s, 3), "upload_s": round(upload_s, 2),
                          "mix_documents": n_docs, "same_mix_documents": same_docs, "same_counts": same_counts}))
        if not (same_docs and same_counts):
            sys.exit(1)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
