"""Fixtures for ``curate evaluate``: a small run folder in the layout the pipeline writes (run.json
groups, a fused group's output, rejected rows, mix/ + manifest.json), built from the real bundled
text of tests/train/data, and small held-out eval files. Models are the ``tiny`` flavour."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # eval_helpers, for the test modules
DOCS = Path(__file__).resolve().parents[1] / "train" / "data" / "fixture_docs.jsonl"


def _docs() -> list[dict]:
    return [json.loads(x) for x in DOCS.read_text(encoding="utf-8").splitlines() if x.strip()]


def _write(path: Path, rows: list[dict], extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows], "domain": [r["domain"] for r in rows]}
    cols.update(extra or {})
    pq.write_table(pa.table(cols), path)


def build_run(root: Path) -> Path:
    """Held out: every 8th document (the eval files). Group 01 fuses extract+domain; the domain stage
    'rejected' every 5th training document; group 02 is the mix (math and code twice, general once)."""
    docs = _docs()
    train = [d for i, d in enumerate(docs) if i % 8]
    kept = [d for i, d in enumerate(train) if i % 5]
    dropped = [d for i, d in enumerate(train) if not i % 5]
    _write(root / "01-domain" / "part-00000.parquet", kept)
    n = len(dropped)
    _write(root / "rejected" / "domain" / "part-00000.parquet", dropped,
           {"stage": ["domain"] * n, "reason": ["test"] * n, "detail": [""] * n})
    mix = [d for d in kept for _ in range(1 if d["domain"] == "general" else 2)]
    _write(root / "mix" / "part-00000.parquet", mix)
    (root / "run.json").write_text(json.dumps({
        "groups": [{"name": "01-domain", "kind": "map", "stages": ["extract", "domain"]},
                   {"name": "02-mix", "kind": "global", "stages": ["mix"]}],
        "config": {"stages": [{"name": "mix", "op": "mix", "params": {"target": {"general": 0.5, "math": 0.3, "code": 0.2}}}]},
    }))
    (root / "manifest.json").write_text(json.dumps({
        "format": "curation.mix/1", "text_column": "text", "mix": {"files": ["mix/part-00000.parquet"]}}))
    return root


@pytest.fixture(scope="session")
def eval_run(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("evalrun"))


@pytest.fixture(scope="session")
def eval_files(tmp_path_factory) -> dict[str, Path]:
    """Two small held-out sets from the documents the run does not hold (every 8th), cut short."""
    root = tmp_path_factory.mktemp("evalsets")
    held = [d for i, d in enumerate(_docs()) if not i % 8]
    out = {}
    for name, dom in (("prose", "general"), ("code", "code")):
        p = root / f"{name}.jsonl"
        rows = [d for d in held if d["domain"] == dom][:3]
        p.write_text("".join(json.dumps({"text": d["text"][:1500]}) + "\n" for d in rows))
        out[name] = p
    return out


@pytest.fixture(scope="module", autouse=True)
def _one_intra_op_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
