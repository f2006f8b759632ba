"""`--eval-every N`: bits per byte on the bundled eval suite, in metrics.jsonl at every Nth step and
the last; and the closing summary line."""

from __future__ import annotations

import io
import json
import math

import pytest

from curation.train.config import load_config
from curation.train.trainer import Trainer


def test_eval_every_writes_bpb_and_the_run_ends_with_a_summary(manifest_path, tokenizer_path, tmp_path):
    from curation.evaluation import suite
    from curation.train.bpb import score
    from curation.train.checkpoint import read_model_weights
    from curation.train.model import Transformer, model_args

    out = tmp_path / "t"
    cfg = load_config(["--manifest", str(manifest_path), "--tokenizer", str(tokenizer_path), "--flavour", "debug",
                       "--steps", "6", "--seq-len", "64", "--global-batch-size", "4", "--eval-every", "4",
                       "--eval-texts", "2", "--cpu-threads", "1", "--out", str(out)])
    log = io.StringIO()
    t = Trainer(cfg, log_stream=log)
    rec = t.train()
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    with_eval = [r["step"] for r in lines if "eval_bpb" in r]
    assert with_eval == [4, 6]  # every 4th step, and the last
    sets = set(suite.default_suite())
    assert sets == {"prose", "news", "code", "math", "multilingual"}
    for r in lines:
        if "eval_bpb" in r:
            assert set(r["eval_bpb"]) == sets
            assert all(0 < v < 30 for v in r["eval_bpb"].values())
            assert r["eval_bpb_mean"] == pytest.approx(sum(r["eval_bpb"].values()) / len(sets))
    # the last figure is the saved model's: score the checkpoint's weights in a fresh model
    ckpt = out / "checkpoints" / "step-00000006"
    model = Transformer(model_args("debug", t.vocab_size, 64), "sdpa", True)
    model.load_state_dict(read_model_weights(ckpt))
    texts = suite.load(None)["code"][:2]
    assert score(model, t.tokenizer, texts, 64)["bpb"] == pytest.approx(lines[-1]["eval_bpb"]["code"], rel=1e-4)
    # printed lines: the eval at step 4, then the summary last
    printed = log.getvalue().splitlines()
    assert any(x.startswith("step      4 |") and "eval bpb" in x and "code " in x for x in printed)
    last = printed[-1]
    best = min(r["eval_bpb_mean"] for r in lines if "eval_bpb" in r)
    assert last == (f"[curation.train] done: 6 steps, {rec[-1]['tokens']:,} tokens, final loss {rec[-1]['loss']:.3f}, "
                    f"eval bpb {lines[-1]['eval_bpb_mean']:.3f} (best {best:.3f} at step "
                    f"{min((r['eval_bpb_mean'], r['step']) for r in lines if 'eval_bpb' in r)[1]}), "
                    f"{last.split(', ')[-2]}, checkpoint {ckpt}")
    assert last.split(", ")[-2].endswith("s") and math.isfinite(float(last.split(", ")[-2][:-1]))


def test_eval_every_off_by_default_and_summary_without_eval(manifest_path, tokenizer_path, tmp_path):
    cfg = load_config(["--manifest", str(manifest_path), "--tokenizer", str(tokenizer_path), "--flavour", "debug",
                       "--steps", "2", "--seq-len", "64", "--global-batch-size", "4", "--cpu-threads", "1",
                       "--save-final", "false", "--out", str(tmp_path / "t")])
    log = io.StringIO()
    Trainer(cfg, log_stream=log).train()
    lines = (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()
    assert not any("eval_bpb" in x for x in lines)
    assert log.getvalue().splitlines()[-1].endswith("checkpoint - (none saved)")
