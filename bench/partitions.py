"""The default pipeline at two shuffle partition counts, side by side in one run.

    .venv/bin/python bench/partitions.py [--parts 4 512] [--shard-bytes 160000] [--workers 2]

Runs ``pipelines/llama3.yaml`` over ``sample/`` (cut into about 25 shards by ``--shard-bytes``)
with ``shuffle: {partitions: N}`` for each N, through ``curate run``, and prints the wall seconds
of each and their ratio, and whether the documents kept and rejected at every stage (the ids of
every Parquet file under the stage folders and ``rejected/``) and the mix (``mix/``, ``anneal/``
files, sha256) are the same. The token index order depends on N by design (docs/tokens.md), so
``tokens/`` is compared by its files' token counts, not bytes. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _ids(run: Path) -> dict[str, list]:
    out = {}
    for p in sorted(run.rglob("*.parquet")):
        rel = p.relative_to(run)
        if rel.parts[0] in ("stats", "tokens", "mix", "anneal"):
            continue
        t = pq.read_table(p)
        out[str(rel)] = sorted(t.column("id").to_pylist()) if "id" in t.column_names else t.num_rows
    return out


def _sha(run: Path, sub: str) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((run / sub).rglob("*")) if p.is_file()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", type=int, nargs="+", default=[4, 512])
    ap.add_argument("--shard-bytes", type=int, default=160_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    base = yaml.safe_load((ROOT / "pipelines" / "llama3.yaml").read_text())
    tmp = Path(tempfile.mkdtemp(prefix="bench-partitions-"))
    res = {}
    for n in args.parts:
        pipe = dict(base, input=dict(base.get("input", {}), shard_max_bytes=args.shard_bytes), shuffle={"partitions": n})
        cfg = tmp / f"p{n}.yaml"
        cfg.write_text(yaml.safe_dump(pipe, sort_keys=False))
        out = tmp / f"run-p{n}"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "curation", "run", str(cfg), "--input", str(ROOT / "sample"),
                        "--output", str(out), "--workers", str(args.workers), "--quiet"], check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        shards = len(json.loads((out / "run.json").read_text())["shards"])
        res[n] = {"wall_s": round(wall, 1), "shards": shards, "ids": _ids(out),
                  "mix": {**_sha(out, "mix"), **_sha(out, "anneal")}}
        print(f"partitions {n}: {wall:.1f} s, {shards} shards", flush=True)
    first, *rest = args.parts
    same_docs = all(res[n]["ids"] == res[first]["ids"] for n in rest)
    same_mix = all(res[n]["mix"] == res[first]["mix"] for n in rest)
    ratio = {n: round(res[n]["wall_s"] / res[first]["wall_s"], 2) for n in rest}
    print(f"same documents at every stage: {same_docs}; same mix/ and anneal/ bytes: {same_mix}; "
          f"wall ratio vs {first}: {ratio}", flush=True)
    headline = {"parts": args.parts, "shards": res[first]["shards"],
                "wall_s": {n: res[n]["wall_s"] for n in args.parts}, "ratio": ratio,
                "same_documents": same_docs, "same_mix": same_mix, "work": str(tmp)}
    print(json.dumps(headline))
    return headline


if __name__ == "__main__":
    main()
