"""Tokens/s of ``curate evaluate``'s training beside the trainer's own step (bench/train_step.py), one run.

    .venv/bin/python bench/evaluate.py                       # debug flavour, 256 x 8, CPU
    .venv/bin/python bench/evaluate.py --flavour tiny --steps 20

The evaluation side draws real windows from the bundled sample's text (``sample/text``) with a BPE
trained on it (``curation.evaluation.draw``) and times ``curation.train.in_memory.train``; the
trainer side runs ``bench/train_step.py`` (same model, step and shapes, synthetic packed data) in a
subprocess with the same flavour, vocabulary, sequence length, batch and thread count. The two
alternate ``--rounds`` times, so a busy machine slows both alike; the ratio is the median of the
per-round ratios. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def eval_side(a, tok, docs) -> float:
    import torch

    from curation.evaluation.draw import draw
    from curation.train.in_memory import new_model, train
    from curation.train.config import TrainConfig
    from curation.train.schedule import Schedule

    torch.set_num_threads(a.threads)
    cfg = TrainConfig(flavour=a.flavour, seq_len=a.seq_len, global_batch_size=a.batch, device="cpu", cpu_threads=a.threads)
    steps = a.warmup + a.steps
    d = draw(docs, tok, 0, steps * a.batch, a.seq_len)
    model = new_model(cfg, tok.vocab_size, 0)
    # time the steps after warm-up: train the warm-up steps first, then the timed ones
    train(model, d.windows[: a.warmup * a.batch], d.doc_ids[: a.warmup * a.batch], cfg, Schedule(a.warmup, 1e-3),
          progress=None)
    t0 = time.perf_counter()
    train(model, d.windows[a.warmup * a.batch:], d.doc_ids[a.warmup * a.batch:], cfg, Schedule(a.steps, 1e-3),
          progress=None)
    return a.steps * a.batch * a.seq_len / (time.perf_counter() - t0)


def trainer_side(a, vocab: int) -> float:
    cmd = [sys.executable, str(ROOT / "bench" / "train_step.py"), "--flavour", a.flavour, "--vocab", str(vocab),
           "--seq-len", str(a.seq_len), "--batch", str(a.batch), "--steps", str(a.steps), "--warmup", str(a.warmup),
           "--device", "cpu", "--mean-doc", "200"]
    env = {"OMP_NUM_THREADS": str(a.threads)}
    import os

    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, **env}).stdout
    return float(json.loads(out[out.index("{"):])["tokens_per_s"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--flavour", default="debug")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=6, help="timed steps per side and round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads on both sides (1: steadiest on a busy machine)")
    a = p.parse_args()

    from curation.evaluation.draw import ArmDocs
    from curation.evaluation.sources import resolve
    from curation.tokenizer import train_bpe

    docs = ArmDocs(resolve(str(ROOT / "sample" / "text")), label=False)
    tok = train_bpe(docs.texts, 4096)
    ev, tr = [], []
    for _ in range(a.rounds):
        ev.append(eval_side(a, tok, docs))
        tr.append(trainer_side(a, tok.vocab_size))
        print(f"round: evaluate {ev[-1]:,.0f} tok/s, train_step {tr[-1]:,.0f} tok/s", file=sys.stderr)
    ratio = statistics.median(e / t for e, t in zip(ev, tr))
    res = {"flavour": a.flavour, "seq_len": a.seq_len, "batch": a.batch, "threads": a.threads, "rounds": a.rounds,
           "evaluate_tokens_per_s": statistics.median(ev), "train_step_tokens_per_s": statistics.median(tr),
           "ratio_evaluate_over_train_step": ratio,
           "seconds_for_2x2x200k_at_this_rate": 4 * 200_000 / statistics.median(ev)}
    print(f"evaluate training runs at {ratio:.2f}x the trainer's step speed", file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
