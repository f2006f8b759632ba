"""Annealing test (Llama 3 Section 3.1.3): judge a small candidate dataset on a trained checkpoint.

The report anneals "the learning rate of a 50% trained Llama 3 8B model linearly to 0 on 40B tokens"
with "30% weight to the new dataset and the remaining 70% weight to the default data mix", and
compares benchmark scores. Here, for every seed:

* base run: the checkpoint annealed on ``tokens`` tokens of the base arm alone;
* candidate run, for every other arm: the same, on ``anneal_fraction`` candidate tokens and the
  rest base tokens, windows interleaved in a seeded order;

then the delta of each eval set's bits per byte, candidate minus base (negative: the candidate helps).
The learning rate falls linearly from ``lr`` to 0 over the run (``Schedule`` with every step in
its annealing phase); ``lr`` defaults to the checkpoint's ``lr x min_lr_ratio``, where its cosine
ended. Model shape and tokenizer come from the checkpoint (its ``meta.json`` config and the
``tokenizer.json`` of its training folder).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from curation.train.bpb import score_all, summarise_arm
from curation.evaluation.draw import draw
from curation.train.checkpoint import read_model_weights
from curation.train.config import config_from_dict
from curation.train.schedule import Schedule


def _checkpoint_config(path: Path):
    meta = path / "meta.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{path}: not a trainer checkpoint (no meta.json)")
    m = json.loads(meta.read_text())
    if "config" not in m:
        raise ValueError(f"{meta}: no training config recorded")
    return config_from_dict(m["config"])


def _tokenizer_for(path: Path, given: str | None, ckpt_cfg):
    from curation.tokenizer import load_tokenizer

    if given:
        return load_tokenizer(given), given
    for cand in (Path(ckpt_cfg.out) / "tokenizer.json", path.parent.parent / "tokenizer.json", path.parent / "tokenizer.json"):
        if cand.is_file():
            return load_tokenizer(cand), str(cand)
    if ckpt_cfg.tokenizer:
        return load_tokenizer(ckpt_cfg.tokenizer), ckpt_cfg.tokenizer
    raise FileNotFoundError(f"{path}: no tokenizer.json next to the checkpoint; give --tokenizer")


def _interleave(a, b, seed: int):
    """Windows of draws ``a`` and ``b`` in one seeded order."""
    w = np.concatenate([a.windows, b.windows])
    d = np.concatenate([a.doc_ids, b.doc_ids])
    perm = np.random.default_rng(seed).permutation(len(w))
    return w[perm], d[perm]


def run_anneal(o, docs: dict, evals: dict, result: dict, log) -> dict:
    from curation.train.in_memory import new_model, train, train_config

    path = Path(o.anneal_from)
    ck = _checkpoint_config(path)
    tok, tok_src = _tokenizer_for(path, o.tokenizer, ck)
    result["tokenizer"] = tok_src
    names = list(docs)
    base = o.anneal_base or names[0]
    if base not in docs:
        raise ValueError(f"--anneal-base {base}: no such arm")
    cands = [n for n in names if n != base]
    if not 0 < o.anneal_fraction < 1:
        raise ValueError("--anneal-fraction must be between 0 and 1")
    cfg = train_config(o, ck.flavour, ck.seq_len)
    cfg.warmup_steps = 0
    if o.lr is None:
        cfg.lr = ck.lr * ck.min_lr_ratio
    steps = max(1, math.ceil(o.tokens / (o.batch * cfg.seq_len)))
    sched = Schedule(steps=steps, peak_lr=cfg.lr, warmup_steps=0, decay="constant", anneal_steps=steps)
    n_seqs = steps * o.batch
    n_cand = max(1, round(o.anneal_fraction * n_seqs))
    weights = read_model_weights(path)
    result["train"] = {"flavour": ck.flavour, "seq_len": cfg.seq_len, "batch": o.batch, "steps": steps,
                       "tokens": n_seqs * cfg.seq_len, "lr": cfg.lr, "warmup_steps": 0, "decay": "linear to 0",
                       "vocab_size": tok.vocab_size}

    def model_from_checkpoint():
        m = new_model(cfg, tok.vocab_size, 0)
        missing, unexpected = m.load_state_dict(weights, strict=False)
        if missing or unexpected:
            raise ValueError(f"{path}: checkpoint does not fit the {ck.flavour} model (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        return m

    with torch.no_grad():
        before = score_all(model_from_checkpoint(), tok, evals, cfg.seq_len, o.stride)
    runs = {n: {"bpb": {e: [] for e in evals}, "train_loss": [], "tokens_per_s": []} for n in [base, *cands]}
    for seed in range(o.seeds):
        for n in [base, *cands]:
            if n == base:
                d = draw(docs[base], tok, seed, n_seqs, cfg.seq_len)
                windows, doc_ids = d.windows, d.doc_ids
            else:
                c = draw(docs[n], tok, seed, n_cand, cfg.seq_len)
                b = draw(docs[base], tok, seed, n_seqs - n_cand, cfg.seq_len)
                windows, doc_ids = _interleave(c, b, seed)
            m = model_from_checkpoint()
            r = train(m, windows, doc_ids, cfg, sched, label=f"anneal {n} seed {seed}", progress=log.stream)
            for e, v in score_all(m, tok, evals, cfg.seq_len, o.stride).items():
                runs[n]["bpb"][e].append(v)
            runs[n]["train_loss"].append(r.losses)
            runs[n]["tokens_per_s"].append(r.tokens_per_s)
    for rec in runs.values():
        summarise_arm(rec, list(evals))
    result["arms"] = runs
    out = {"checkpoint": str(path), "base": base, "fraction": o.anneal_fraction, "before": before,
           "description": f"{o.anneal_fraction:.0%} candidate / {1 - o.anneal_fraction:.0%} {base}, "
                          f"{n_seqs * cfg.seq_len:,} tokens, lr {cfg.lr:g} linear to 0; delta = candidate - base-only",
           "candidates": {}}
    for n in cands:
        delta = {e: runs[n]["bpb_mean"][e] - runs[base]["bpb_mean"][e] for e in evals}
        rel = {e: runs[n]["bpb_mean"][e] / runs[base]["bpb_mean"][e] - 1 for e in evals}
        out["candidates"][n] = {"delta": delta, "relative": rel,
                                "delta_per_seed": {e: [a - b for a, b in zip(runs[n]["bpb"][e], runs[base]["bpb"][e])]
                                                   for e in evals}}
        log(f"anneal {n}: " + ", ".join(f"{e} {v:+.4f}" for e, v in delta.items()) + " bpb vs base only")
    return out
