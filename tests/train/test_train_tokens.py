"""The trainer on the token path (tokens/ written by the tokenize stage): the same stream under
1 process, dp=2 and dp2 x tp2, exact resume, each rank reading only its own windows, the annealing
phase, a run whose mix/ and anneal/ text is gone, and the text fallback of older runs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from train_helpers import read_metrics, run_trainer, tiny_config

from curation.train.data import Manifest, PackedStream, TokenStream, TrainLoader, token_section
from curation.tokenizer import load_tokenizer

STEPS = 4
TOL = 1e-5


def _base(manifest, tokenizer, out, **kw) -> dict:
    # the last step anneals (4 sequences x 64 tokens)
    return tiny_config(manifest, tokenizer, out, **{"global_batch_size": 4, "steps": STEPS, "anneal_tokens": 256, **kw})


@pytest.fixture(scope="module")
def reference(token_manifest_path, tokenizer_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok_single")
    run_trainer(_base(token_manifest_path, tokenizer_path, out, checkpoint_every=2))
    rec = read_metrics(out)
    assert [r["phase"] for r in rec] == ["main"] * 3 + ["anneal"]
    assert all(r["grad_norm"] > 0.3 for r in rec), "clipping must be active for this test to mean something"
    assert (out / "tokenizer.json").is_file()  # kept for decoding and evaluation, never called while training
    return out, [r["loss"] for r in rec]


def test_token_path_layouts_give_equal_losses(launch, reference, token_manifest_path, tokenizer_path, tmp_path):
    _, ref = reference
    for name, world, extra in (("dp2", 2, {}), ("dp2xtp2", 4, {"tp": 2})):
        out = tmp_path / name
        launch(world, run_trainer, _base(token_manifest_path, tokenizer_path, out, **extra))
        got = [r["loss"] for r in read_metrics(out)]
        assert got == pytest.approx(ref, abs=TOL, rel=0), f"{name}: {got} vs single {ref}"
    assert abs(ref[-1] - ref[0]) > 0.05


def test_token_path_resume_is_exact(reference, token_manifest_path, tokenizer_path, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "resumed"
    shutil.copytree(ref_out / "checkpoints" / "step-00000002", out / "checkpoints" / "step-00000002")
    run_trainer(_base(token_manifest_path, tokenizer_path, out))
    got = read_metrics(out)
    assert [r["step"] for r in got] == [3, 4]
    assert [r["loss"] for r in got] == ref[2:]  # same layout: bit for bit


def test_each_rank_reads_its_slice_of_one_stream(token_manifest_path, tokenizer_path):
    m = Manifest(token_manifest_path)
    tok = load_tokenizer(tokenizer_path)
    full = TrainLoader(m, None, seq_len=64, global_batch_size=8)
    ranks = [TrainLoader(m, None, 64, 8, dp_rank=r, dp_size=2, grad_accum_steps=2) for r in range(2)]
    stream = full.streams["mix"]
    total = stream.index.total_tokens
    steps = total // (8 * 65) + 2  # past the end: the stream wraps into a second epoch
    for _ in range(steps):
        (b,) = full.next_batches()
        parts = [mb for r in ranks for mb in r.next_batches()]
        assert torch.equal(torch.cat([p.inputs for p in parts]), b.inputs)
        assert torch.equal(torch.cat([p.doc_ids for p in parts]), b.doc_ids)
        assert torch.equal(b.inputs[:, 1:], b.labels[:, :-1])
        for row, docs in zip(b.inputs, b.doc_ids):  # a new document starts exactly at BOS
            starts = (docs[1:] != docs[:-1]).nonzero().flatten() + 1
            assert all(row[i].item() == tok.bos_id for i in starts) and docs[0].item() == 0
    assert stream.pos == steps * 8 * 65 > total
    # the stream is the index's documents in order: its first window is the first occurrence's start
    first = stream.index.part(0)
    mm = stream._map(int(first.file[0]))
    want = mm.read(int(first.offset[0]), int(first.length[0])).astype(np.int64)
    fresh = TrainLoader(m, None, 64, 1).next_batches()[0]
    n = min(64, int(first.length[0]))
    assert fresh.inputs[0, :n].tolist() == want[:n].tolist()
    # state round trip
    state = json.loads(json.dumps(full.state_dict()))
    again = TrainLoader(m, None, 64, 8)
    again.load_state_dict(state)
    assert torch.equal(again.next_batches()[0].inputs, full.next_batches()[0].inputs)


def test_a_run_without_its_text_still_trains(token_manifest_path, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(token_manifest_path.parent, run)
    for text in ("mix", "anneal"):
        shutil.rmtree(run / text)
    assert not (run / "mix").exists() and (run / "tokens" / "mix").is_dir()
    out = tmp_path / "out"
    cfg = _base(run / "manifest.json", None, out, steps=2, anneal_tokens=256)
    del cfg["tokenizer"]  # none needed: the vocabulary comes from the manifest
    sec = json.loads((run / "manifest.json").read_text())
    sec["tokens"]["tokenizer"] = str(tmp_path / "moved-away.json")  # and no tokenizer at hand either
    (run / "manifest.json").write_text(json.dumps(sec))
    run_trainer(cfg)
    assert [r["phase"] for r in read_metrics(out)] == ["main", "anneal"]
    assert not (out / "tokenizer.json").exists()


def test_older_runs_fall_back_to_text_with_a_notice(manifest_path, tokenizer_path, token_manifest_path, tmp_path, capsys):
    run_trainer(tiny_config(manifest_path, tokenizer_path, tmp_path / "t", steps=1, global_batch_size=2))
    lines = [x for x in capsys.readouterr().out.splitlines() if "no tokens section" in x]
    assert len(lines) == 1 and "reading mix/ text" in lines[0]
    with pytest.raises(ValueError, match="no tokens section"):
        token_section(Manifest(manifest_path), "tokens")
    assert token_section(Manifest(token_manifest_path), "text") is None  # --data text: the old path
    # a checkpoint of one path does not resume on the other
    with pytest.raises(ValueError, match="read text"):
        TrainLoader(Manifest(token_manifest_path), None, 16, 1).streams["mix"].load_state_dict({"reader": {}})
    with pytest.raises(ValueError, match="read token shards"):
        TrainLoader(Manifest(manifest_path), load_tokenizer(tokenizer_path), 16, 1).streams["mix"].load_state_dict(
            {"source": "tokens", "pos": 0, "sequences": 0})
    assert isinstance(TrainLoader(Manifest(manifest_path), load_tokenizer(tokenizer_path), 16, 1).streams["mix"], PackedStream)
    assert isinstance(TrainLoader(Manifest(token_manifest_path), None, 16, 1).streams["mix"], TokenStream)


def test_truncated_token_file_is_a_clear_error(token_manifest_path, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(token_manifest_path.parent, run)
    sec = json.loads((run / "manifest.json").read_text())["tokens"]
    f = run / sec["mix"]["files"][0]["path"]
    f.write_bytes(f.read_bytes()[:-2])
    loader = TrainLoader(Manifest(run / "manifest.json"), None, 64, 64)
    with pytest.raises(ValueError, match="truncated"):
        for _ in range(50):
            loader.next_batches()
