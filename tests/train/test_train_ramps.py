"""Batch-size and sequence-length ramps: parsing and validation, per-step shapes, the anneal length
counted in ramped tokens, exact resume in the middle of a ramp, and FSDP dp=2 = one process."""

from __future__ import annotations

import shutil

import pytest
from train_helpers import read_metrics, run_trainer, tiny_config

from curation.train.config import TrainConfig, load_config
from curation.train.data import DocReader, Manifest, PackedStream, TrainLoader
from curation.train.schedule import parse_ramp
from curation.tokenizer import load_tokenizer
from curation.train.trainer import Trainer

STEPS = 5
BATCH_RAMP = "0:2,2:4"  # steps 0-1: 2 sequences; 2-4: 4
SEQ_RAMP = "0:32,3:64"  # steps 0-2: 32 tokens; 3-4: 64
TOL = 1e-5


def _base(manifest_path, tokenizer_path, out, **kw) -> dict:
    return tiny_config(manifest_path, tokenizer_path, out, **{
        "batch_ramp": BATCH_RAMP,
        "seq_len_ramp": SEQ_RAMP,
        "steps": STEPS,
        "anneal_tokens": 300,  # the last two steps (4 x 64 tokens each) come from the anneal set
        **kw,
    })


# ---- parsing and validation ------------------------------------------------------------------


def test_parse_ramp_forms():
    r = parse_ramp("0:8, 100:16,300:32", "--batch-ramp")
    assert r.points == ((0, 8), (100, 16), (300, 32))
    assert [r.at(s) for s in (0, 99, 100, 299, 300, 10**6)] == [8, 8, 16, 16, 32, 32]
    assert parse_ramp({0: 8, 100: 16}, "x").points == parse_ramp([[0, 8], [100, 16]], "x").points == ((0, 8), (100, 16))
    assert parse_ramp(["0:8", "100:16"], "x").spec() == "0:8,100:16"


@pytest.mark.parametrize(
    "spec, match",
    [
        ("", "empty ramp"),
        ("8", "not STEP:SIZE"),
        ("0:8:1", "not STEP:SIZE"),
        ("1:8,100:16", "first entry must be at step 0"),
        ("0:8,100:16,100:32", "steps must increase strictly"),
        ("0:8,50:16,20:32", "steps must increase strictly"),
        ("0:8,10:0", "must be positive"),
        ("0:-4", "must be positive"),
        ("0:eight", "not an integer"),
        ([[0, 8, 1]], "not a STEP:SIZE pair"),
    ],
)
def test_bad_ramps_name_the_option(spec, match):
    with pytest.raises(ValueError, match=f"--batch-ramp: .*{match}"):
        parse_ramp(spec, "--batch-ramp")
    if spec == "":
        assert TrainConfig(manifest="x", seq_len_ramp="").seq_len_at(3) == 256  # empty = unset
        return
    with pytest.raises(ValueError, match=f"--seq-len-ramp: .*{match}"):
        TrainConfig(manifest="x", seq_len_ramp=spec).validate()  # a list fails already when built


def test_ramp_validation_against_layout_and_model():
    TrainConfig(manifest="x", seq_len=512, seq_len_ramp="0:128,10:512", batch_ramp="0:4,10:8").validate(dp=2)
    with pytest.raises(ValueError, match=r"--seq-len-ramp: length 1024 at step 10 exceeds --seq-len 512"):
        TrainConfig(manifest="x", seq_len=512, seq_len_ramp="0:128,10:1024").validate()
    with pytest.raises(ValueError, match=r"--seq-len-ramp: length 1 at step 0 must be at least 2"):
        TrainConfig(manifest="x", seq_len_ramp="0:1").validate()
    with pytest.raises(ValueError, match=r"--batch-ramp: batch size 6 at step 10 is not divisible by dp \(4\) x grad_accum_steps \(1\)"):
        TrainConfig(manifest="x", batch_ramp="0:4,10:6").validate(dp=4)
    with pytest.raises(ValueError, match=r"--batch-ramp: batch size 6 .* grad_accum_steps \(4\)"):
        TrainConfig(manifest="x", batch_ramp="0:8,10:6", grad_accum_steps=4).validate()


def test_ramps_from_yaml_and_flags(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("manifest: m.json\nbatch-ramp: {0: 8, 100: 16}\nseq_len_ramp: [[0, 128], [50, 256]]\n")
    cfg = load_config(["--config", str(y)])
    assert (cfg.batch_ramp, cfg.seq_len_ramp) == ("0:8,100:16", "0:128,50:256")
    cfg.validate()
    y.write_text("manifest: m.json\nbatch_ramp: '0:8,100:16'\n")
    cfg = load_config(["--config", str(y), "--seq-len-ramp", "0:64,5:128"])
    assert [cfg.batch_size_at(s) for s in (0, 100)] == [8, 16]
    assert [cfg.seq_len_at(s) for s in (4, 5)] == [64, 128]
    assert TrainConfig(manifest="x").batch_size_at(7) == 8 and TrainConfig(manifest="x").seq_len_at(7) == 256


def test_anneal_steps_count_ramped_tokens():
    base = dict(manifest="x", steps=10, seq_len=16, global_batch_size=4)
    # no ramp: unchanged, ceil(tokens / (4 * 16))
    assert TrainConfig(**base, anneal_tokens=129).anneal_steps() == 3
    # last steps have 8 x 16 = 128 tokens: 129 tokens need 2 of them, 128 one
    cfg = TrainConfig(**base, batch_ramp="0:2,8:8", anneal_tokens=129)
    assert cfg.anneal_steps() == 2
    assert TrainConfig(**base, batch_ramp="0:2,8:8", anneal_tokens=128).anneal_steps() == 1
    # crossing back into the smaller steps: 2 x 128 + 1 x (2 x 16) = 288
    assert TrainConfig(**base, batch_ramp="0:2,8:8", anneal_tokens=288).anneal_steps() == 3
    assert TrainConfig(**base, batch_ramp="0:2,8:8", anneal_tokens=289).anneal_steps() == 4
    assert TrainConfig(**base, seq_len_ramp="0:8,9:16", anneal_tokens=64 + 32).anneal_steps() == 2
    assert TrainConfig(**base, batch_ramp="0:2,8:8", anneal_tokens=10**9).anneal_steps() == 10


# ---- the loader ------------------------------------------------------------------------------


def test_loader_shapes_follow_the_sizes_and_pack_the_same_stream(manifest_path, tokenizer_path):
    tok = load_tokenizer(tokenizer_path)
    m = Manifest(manifest_path)
    loader = TrainLoader(m, tok, seq_len=32, global_batch_size=2, dp_rank=1, dp_size=2, grad_accum_steps=1)
    ref = PackedStream(DocReader(m.files("mix"), m.text_column), tok, 64)
    for gbs, slen in ((2, 32), (4, 32), (4, 64), (2, 16)):
        (b,) = loader.next_batches("mix", gbs, slen)
        assert b.inputs.shape == b.labels.shape == b.doc_ids.shape == (gbs // 2, slen)
        windows = [ref.next(slen) for _ in range(gbs)][gbs // 2 :]  # rank 1 keeps the second half
        for row, (t, d) in enumerate(windows):
            assert b.inputs[row].tolist() == t[:-1].tolist() and b.labels[row].tolist() == t[1:].tolist()
            assert b.doc_ids[row].tolist() == d[:-1].tolist() and b.doc_ids[row, 0].item() == 0
    with pytest.raises(ValueError, match="global batch size 3 is not divisible by dp"):
        loader.next_batches("mix", 3, 32)


# ---- training: shapes in metrics, exact resume mid-ramp, dp=2 == one process ------------------


@pytest.fixture(scope="module")
def reference(manifest_path, tokenizer_path, tmp_path_factory):
    """An uninterrupted ramped single-process run with checkpoints at steps 2 and 4."""
    out = tmp_path_factory.mktemp("ramped")
    run_trainer(_base(manifest_path, tokenizer_path, out, checkpoint_every=2))
    return out, read_metrics(out)


def test_metrics_record_the_ramped_sizes(reference):
    _, rec = reference
    assert [r["step"] for r in rec] == list(range(1, STEPS + 1))
    assert [r["batch_size"] for r in rec] == [2, 2, 4, 4, 4]
    assert [r["seq_len"] for r in rec] == [32, 32, 32, 64, 64]
    assert [r["phase"] for r in rec] == ["main"] * 3 + ["anneal"] * 2
    tokens = [2 * 32, 2 * 32, 4 * 32, 4 * 64, 4 * 64]
    assert [r["tokens"] for r in rec] == [sum(tokens[: i + 1]) for i in range(STEPS)]
    assert all(r["grad_norm"] > 0.3 for r in rec), "clipping must be active for the dp test to mean something"


def test_resume_mid_ramp_is_exact(reference, manifest_path, tokenizer_path, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "resumed"
    (out / "checkpoints").mkdir(parents=True)
    # step 2: the batch size has just grown, the sequence length grows one step later
    shutil.copytree(ref_out / "checkpoints" / "step-00000002", out / "checkpoints" / "step-00000002")
    run_trainer(_base(manifest_path, tokenizer_path, out))
    got = read_metrics(out)
    assert [r["step"] for r in got] == [3, 4, 5]
    assert [(r["batch_size"], r["seq_len"], r["tokens"]) for r in got] == [
        (r["batch_size"], r["seq_len"], r["tokens"]) for r in ref[2:]
    ]
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in ref[2:]], abs=TOL, rel=0)


def test_ramped_fsdp_dp2_equals_one_process(launch, reference, manifest_path, tokenizer_path, tmp_path):
    _, ref = reference
    out = tmp_path / "dp2"
    launch(2, run_trainer, _base(manifest_path, tokenizer_path, out))
    got = read_metrics(out)
    assert [(r["batch_size"], r["seq_len"]) for r in got] == [(r["batch_size"], r["seq_len"]) for r in ref]
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in ref], abs=TOL, rel=0)
    assert abs(ref[-1]["loss"] - ref[0]["loss"]) > 0.05  # the losses moved


def test_ramp_batch_not_divisible_by_dp_fails_at_start(manifest_path, tokenizer_path, tmp_path):
    with pytest.raises(ValueError, match="--batch-ramp: batch size 3"):
        Trainer(TrainConfig(**_base(manifest_path, tokenizer_path, tmp_path, batch_ramp="0:2,2:3", grad_accum_steps=2)))
