"""The tokenize operator's phases in one process (as the engine runs them, without Ray), on the
bundled sample text: every occurrence reads back its document, the manifest's totals equal the
index's lengths, batching does not change a byte, and the order interleaves domains like a random
permutation. The same operator under Ray, 1 vs 2 workers: tests/models/test_tokenize.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pyarrow import fs as pafs

from curation.tokens.format import TokenFile, parse_dtype
from curation.engine.tokenize_local import tokenize_tables, with_token_counts
from curation.tokens.order import longest_run

FILES = {"ccnet_cc_en_head-0091": "general", "gsm8k_train_300": "math", "code_100": "code",
         "udhr_60": "multilingual"}


@pytest.fixture(scope="module")
def tokenizer(sample_dir, tmp_path_factory):
    from curation.tokenizer import load_tokenizer, train_bpe

    texts = [json.loads(line)["text"] for f in FILES for line in gzip.open(sample_dir / "text" / f"{f}.jsonl.gz", "rt")]
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    train_bpe(texts, 512, path)
    return path, load_tokenizer(path)


@pytest.fixture(scope="module")
def corpus(sample_dir, tokenizer) -> pa.Table:
    """The sample text in input order (one domain after another), with mix columns."""
    rows = []
    for f, dom in FILES.items():
        for line in gzip.open(sample_dir / "text" / f"{f}.jsonl.gz", "rt"):
            d = json.loads(line)
            rows.append({"id": f"{f}/{d['id']}", "text": d["text"], "domain": dom})
    rng = np.random.default_rng(0)
    t = pa.Table.from_pylist(rows)
    t = t.append_column("mix_copies", pa.array(rng.choice([0, 1, 1, 2, 3], t.num_rows), pa.int32()))
    t = t.append_column("anneal", pa.array(rng.random(t.num_rows) < 0.15))
    return with_token_counts(t, tokenizer[1])


def _shards(t: pa.Table, n: int = 3) -> list[pa.Table]:
    step = -(-t.num_rows // n)
    return [t.slice(i, step) for i in range(0, t.num_rows, step)]


@pytest.fixture(scope="module")
def run(corpus, tokenizer, tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("tokrun")
    return root, tokenize_tables(root, _shards(corpus), str(tokenizer[0]), parts=3, batch=50)


def _index(root: Path, section: dict, phase: str) -> pa.Table:
    return pa.concat_tables([pq.read_table(root / e["path"]) for e in section[phase]["index"]])


def test_every_occurrence_reads_back_its_document(run, corpus, tokenizer):
    root, sec = run
    dt = parse_dtype(sec["dtype"])
    assert sec["dtype"] == "uint16" and sec["vocab_size"] == tokenizer[1].vocab_size
    text = dict(zip(corpus.column("id").to_pylist(), corpus.column("text").to_pylist()))
    copies = dict(zip(corpus.column("id").to_pylist(), corpus.column("mix_copies").to_pylist()))
    anneal = {i for i, a in zip(corpus.column("id").to_pylist(), corpus.column("anneal").to_pylist()) if a}
    maps = {}
    for phase in ("mix", "anneal"):
        idx = _index(root, sec, phase).to_pylist()
        seen: dict[str, list] = {}
        for r in idx:
            m = maps.setdefault(r["file"], TokenFile(pafs.LocalFileSystem(), str(root / r["file"]), dt))
            got = m.read(r["offset"], r["length"]).tolist()
            assert got == tokenizer[1].encode_batch([text[r["id"]]])[0], (phase, r["id"])
            seen.setdefault(r["id"], []).append((r["copy"], r["file"], r["offset"]))
        if phase == "mix":  # mix_copies > 1: separate entries, one stored copy referenced by each
            assert {i: len(v) for i, v in seen.items()} == {i: c for i, c in copies.items() if c > 0}
            for v in seen.values():
                assert sorted(c for c, _, _ in v) == list(range(len(v))) and len({(f, o) for _, f, o in v}) == 1
        else:
            assert set(seen) == anneal and all(len(v) == 1 for v in seen.values())


def test_manifest_totals_equal_the_index_and_the_files(run, corpus):
    root, sec = run
    manifest = json.loads((root / "manifest.json").read_text())
    # the manifest is relocatable: its tokenizer is the run's own copy, named relative to the run
    rel = manifest["tokens"]["tokenizer"]
    assert not Path(rel).is_absolute() and (root / rel).read_bytes() == Path(sec["tokenizer"]).read_bytes()
    assert {k: v for k, v in manifest["tokens"].items() if k != "tokenizer"} == \
        {k: v for k, v in sec.items() if k != "tokenizer"}
    itemsize = parse_dtype(sec["dtype"]).itemsize
    for phase in ("mix", "anneal"):
        idx = _index(root, sec, phase)
        per_dom: dict[str, int] = {}
        for d, n in zip(idx.column("domain").to_pylist(), idx.column("length").to_pylist()):
            per_dom[d] = per_dom.get(d, 0) + n
        assert per_dom == sec[phase]["tokens"]
        assert idx.num_rows == sum(sec[phase]["documents"].values())
        for e in sec[phase]["index"]:
            t = pq.read_table(root / e["path"])
            assert (t.num_rows, sum(t.column("length").to_pylist())) == (e["documents"], e["tokens"])
        for f in sec[phase]["files"]:
            assert (root / f["path"]).stat().st_size == f["tokens"] * itemsize
    # the mix's own count: tokens x copies per domain
    want: dict[str, int] = {}
    for d, n, c in zip(corpus.column("domain").to_pylist(), corpus.column("tokens").to_pylist(),
                       corpus.column("mix_copies").to_pylist()):
        want[d] = want.get(d, 0) + n * c
    assert sec["mix"]["tokens"] == {d: v for d, v in want.items() if v}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "tokens").rglob("*")) if p.is_file()}


def test_batching_does_not_change_a_byte(run, corpus, tokenizer, tmp_path):
    root, sec = run
    other = tmp_path / "other"
    assert tokenize_tables(other, _shards(corpus), str(tokenizer[0]), parts=3, batch=17) == sec
    assert _tree(other) == _tree(root)


def _perm_stats(labels: list[str], trials: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    arr = np.array(labels)
    longest, runs = [], []
    for _ in range(trials):
        p = arr[rng.permutation(len(arr))]
        longest.append(longest_run(p.tolist()))
        runs.append(1 + int(np.count_nonzero(p[1:] != p[:-1])))
    return np.array(longest), np.array(runs)


def _runs(labels: list[str]) -> int:
    return 1 + sum(a != b for a, b in zip(labels, labels[1:]))


def test_domains_interleave_like_a_random_permutation(run, corpus):
    root, sec = run
    order = _index(root, sec, "mix").column("domain").to_pylist()
    longest, runs = _perm_stats(order)
    lo, hi = np.quantile(longest, [0.005, 0.995])
    assert lo <= longest_run(order) <= hi, (longest_run(order), lo, hi)
    rlo, rhi = np.quantile(runs, [0.005, 0.995])
    assert rlo <= _runs(order) <= rhi, (_runs(order), rlo, rhi)
    # the test has power: the input order (one domain after another) fails it by far
    inp = [d for d, c in zip(corpus.column("domain").to_pylist(), corpus.column("mix_copies").to_pylist()) for _ in range(c)]
    assert longest_run(inp) > 3 * hi and _runs(inp) < rlo / 10


def test_another_seed_gives_another_order(corpus, tokenizer, tmp_path, run):
    root, sec = run
    sec2 = tokenize_tables(tmp_path, _shards(corpus), str(tokenizer[0]), parts=3, seed=1)
    a = _index(root, sec, "mix").column("id").to_pylist()
    b = _index(tmp_path, sec2, "mix").column("id").to_pylist()
    assert sorted(a) == sorted(b) and a != b
    assert sec2["mix"]["tokens"] == sec["mix"]["tokens"]


def test_a_tokenizer_mismatch_is_an_error_naming_the_document(corpus, tokenizer, tmp_path):
    t = corpus.slice(0, 20)
    t = t.set_column(t.column_names.index("tokens"), "tokens", pa.array(np.array(t.column("tokens")) + 1))
    with pytest.raises(ValueError, match="counted with another tokenizer"):
        tokenize_tables(tmp_path, [t], str(tokenizer[0]), parts=2)
