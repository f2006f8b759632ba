"""Fixtures for the trainer tests: a small curated run folder built from real bundled text, a
tokenizer trained on it, and a launcher that runs a function on N ranks (fork + gloo)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

DATA = Path(__file__).parent / "data" / "fixture_docs.jsonl"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # train_helpers, for the test modules


def _docs() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict], row_group_size: int = 16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = pa.table(
        {
            "id": [r["id"] for r in rows],
            "text": [r["text"] for r in rows],
            "domain": [r["domain"] for r in rows],
            "tokens": pa.array([len(r["text"].split()) for r in rows], pa.int64()),
        }
    )
    pq.write_table(t, path, row_group_size=row_group_size, compression="zstd")


def build_run(root: Path) -> Path:
    """Write ``root/manifest.json``, ``root/mix/part-*.parquet`` and ``root/anneal/part-*.parquet``
    in the layout of the ``mix`` stage (documents already in sampled order)."""
    docs = _docs()
    by_dom: dict[str, list[dict]] = {}
    for d in docs:
        by_dom.setdefault(d["domain"], []).append(d)
    # interleave domains round-robin: a deterministic "sampled order"
    mix: list[dict] = []
    iters = {k: iter(v) for k, v in by_dom.items()}
    while iters:
        for k in list(iters):
            try:
                mix.append(next(iters[k]))
            except StopIteration:
                del iters[k]
    half = len(mix) // 2
    _write(root / "mix" / "part-00000.parquet", mix[:half])
    _write(root / "mix" / "part-00001.parquet", mix[half:])
    anneal = by_dom["math"][:40] + by_dom["code"][:20] + by_dom["general"][:5]
    _write(root / "anneal" / "part-00000.parquet", anneal)

    def counts(rows):
        docs_, toks = {}, {}
        for r in rows:
            docs_[r["domain"]] = docs_.get(r["domain"], 0) + 1
            toks[r["domain"]] = toks.get(r["domain"], 0) + len(r["text"].split())
        return docs_, toks

    md, mt = counts(mix)
    ad, at = counts(anneal)
    total = sum(mt.values())
    manifest = {
        "format": "curation.mix/1",
        "text_column": "text",
        "tokenizer": "whitespace",
        "mix": {"files": ["mix/part-00000.parquet", "mix/part-00001.parquet"], "documents": md, "tokens": mt},
        "anneal": {"files": ["anneal/part-00000.parquet"], "documents": ad, "tokens": at},
        "target_mix": {"general": 0.5, "math": 0.25, "code": 0.17, "multilingual": 0.08},
        "achieved_mix": {k: v / total for k, v in mt.items()},
        "config": {},
        "source_run": "tests/train/data/fixture_docs.jsonl",
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root / "manifest.json"


@pytest.fixture(scope="module", autouse=True)
def _one_intra_op_thread():
    """One intra-op thread in the test process (the forked ranks set the same): with several,
    OpenMP threads spin against each other on a busy 2-core machine and a step gets 4x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def manifest_path(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def tokenizer_path(manifest_path) -> Path:
    from curation.train.data import Manifest
    from curation.tokenizer import train_bpe

    path = manifest_path.parent / "tokenizer-1024.json"
    train_bpe(Manifest(manifest_path).iter_texts("mix"), 1024, path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, fn, args) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world)
    )
    torch.set_num_threads(1)
    try:
        fn(*args)
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def _launch(world: int, fn, *args) -> None:
    """Run ``fn(*args)`` on ``world`` ranks started by fork (gloo); raises if any rank fails."""
    torch.multiprocessing.start_processes(
        _worker, args=(world, free_port(), fn, args), nprocs=world, join=True, start_method="fork"
    )


@pytest.fixture(scope="session")
def launch():
    """``launch(world, fn, *args)``: run ``fn(*args)`` on ``world`` forked gloo ranks."""
    return _launch


@pytest.fixture(scope="session")
def token_manifest_path(manifest_path, tokenizer_path, tmp_path_factory) -> Path:
    """The fixture run plus its token shards (tokens/, the manifest's tokens section), written by the
    tokenize operator over two shards; some documents have two mix copies."""
    import shutil

    from curation.engine.tokenize_local import tokenize_tables, with_token_counts
    from curation.tokenizer import load_tokenizer

    run = tmp_path_factory.mktemp("token_run")
    for item in ("mix", "anneal", "manifest.json"):
        src = manifest_path.parent / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, run / item)
    docs = _docs()
    by_dom: dict[str, list[str]] = {}
    for d in docs:
        by_dom.setdefault(d["domain"], []).append(d["id"])
    anneal = set(by_dom["math"][:40] + by_dom["code"][:20] + by_dom["general"][:5])
    t = pa.table({
        "id": [d["id"] for d in docs],
        "text": [d["text"] for d in docs],
        "domain": [d["domain"] for d in docs],
        "mix_copies": pa.array([2 if i % 5 == 0 else 1 for i in range(len(docs))], pa.int32()),
        "anneal": [d["id"] in anneal for d in docs],
    })
    t = with_token_counts(t, load_tokenizer(tokenizer_path))
    half = t.num_rows // 2
    tokenize_tables(run, [t.slice(0, half), t.slice(half)], str(tokenizer_path))
    return run / "manifest.json"
