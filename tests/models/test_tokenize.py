"""domain -> mix -> tokenize on the bundled sample text under Ray: token shards and the manifest's
tokens section, identical bytes with 1 and 2 workers, totals that agree with the mix's own
accounting, and an order that interleaves domains like a random permutation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.tokens.order import longest_run


def _pipeline(models_root: Path):
    from curation.config import parse_pipeline

    m = str(models_root)
    return parse_pipeline({
        "name": "tokenize-test",
        "input": {"shard_max_bytes": 100_000, "batch_docs": 64},
        "stages": [
            {"op": "domain", "models": m, "auto_train": False},
            {"op": "mix", "models": m, "quality_column": "domain_score"},  # an annealing set without the quality stage
            {"op": "tokenize", "models": m, "keep_text": False},
        ],
    })


@pytest.fixture(scope="module")
def runs(models, sample_dir, ray_local, tmp_path_factory):
    from curation.engine.runner import RunOptions, run_pipeline

    cfg = _pipeline(models[0])
    return {w: Path(run_pipeline(cfg, [str(sample_dir / "text")], str(tmp_path_factory.mktemp(f"tok{w}")),
                                 RunOptions(workers=w, progress=False)).root) for w in (1, 2)}


def _index(run: Path, sec: dict, phase: str):
    import pyarrow as pa

    return pa.concat_tables([pq.read_table(run / e["path"]) for e in sec[phase]["index"]])


def test_tokens_section_agrees_with_the_index_and_the_mix(runs):
    run = runs[2]
    m = json.loads((run / "manifest.json").read_text())
    sec = m["tokens"]
    assert sec["format"] == "curation.tokens/1" and sec["tokenizer"] == m["tokenizer"]
    assert len(sec["mix"]["files"]) > 1 and sec["mix"]["index"] and sec["anneal"]["index"]
    for phase in ("mix", "anneal"):
        idx = _index(run, sec, phase)
        per_dom: dict[str, int] = {}
        for d, n in zip(idx.column("domain").to_pylist(), idx.column("length").to_pylist()):
            per_dom[d] = per_dom.get(d, 0) + n
        assert per_dom == sec[phase]["tokens"]
        # the mix stage's own accounting: the token shards hold its rows (each document mix_copies times)
        assert sec[phase]["tokens"] == m[phase]["tokens"] and sec[phase]["documents"] == m[phase]["occurrences"]
    assert set(sec["mix"]["tokens"]) == {"general", "math", "code", "multilingual"}


def test_one_and_two_workers_write_identical_bytes(runs):
    trees = []
    for w in (1, 2):
        root = runs[w]
        trees.append({str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "tokens").rglob("*")) if p.is_file()})
    assert trees[0] == trees[1] and any(k.endswith(".bin") for k in trees[0])
    secs = [json.loads((runs[w] / "manifest.json").read_text())["tokens"] for w in (1, 2)]
    assert secs[0] == secs[1]


def test_the_stage_keeps_every_document_without_its_text(runs):
    run = runs[1]
    mix = sorted(run.glob("*-mix/part-*.parquet"))
    tok = sorted(run.glob("*-tokenize/part-*.parquet"))
    assert len(mix) == len(tok) > 1
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in mix) == sum(pq.ParquetFile(f).metadata.num_rows for f in tok)
    assert "text" not in pq.read_schema(tok[0]).names and "mix_copies" in pq.read_schema(tok[0]).names


def test_domains_interleave_like_a_random_permutation(runs):
    run = runs[1]
    sec = json.loads((run / "manifest.json").read_text())["tokens"]
    order = _index(run, sec, "mix").column("domain").to_pylist()
    rng = np.random.default_rng(0)
    arr = np.array(order)
    sims = [longest_run(arr[rng.permutation(len(arr))].tolist()) for _ in range(1000)]
    lo, hi = np.quantile(sims, [0.005, 0.995])
    assert lo <= longest_run(order) <= hi, (longest_run(order), lo, hi)
    # the mix/ text files in their order are far from that (the issue: long single-domain stretches)
    text_order = [d for rel in json.loads((run / "manifest.json").read_text())["mix"]["files"]
                  for d in pq.read_table(run / rel, columns=["domain"]).column(0).to_pylist()]
    assert longest_run(text_order) > hi


def test_a_crash_in_tokenize_resumes_to_the_same_bytes(models, sample_dir, ray_local, runs, tmp_path):
    from curation.engine.runner import RunError, RunOptions, run_pipeline

    cfg, out = _pipeline(models[0]), tmp_path / "crashy"
    with pytest.raises(RunError, match="tokenize.*injected failure"):
        run_pipeline(cfg, [str(sample_dir / "text")], str(out), RunOptions(workers=2, progress=False, fault="crash:tokenize:1"))
    assert "tokens" not in json.loads((out / "manifest.json").read_text())  # not committed yet
    run_pipeline(cfg, [str(sample_dir / "text")], str(out), RunOptions(workers=2, progress=False))
    ref = runs[1]

    def tree(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "tokens").rglob("*")) if p.is_file()}

    assert tree(out) == tree(ref)
    assert json.loads((out / "manifest.json").read_text())["tokens"] == json.loads((ref / "manifest.json").read_text())["tokens"]
