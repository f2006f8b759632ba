"""Held-out loss in bits per byte, with carried context (strided windows).

Bits per byte = (summed negative log-likelihood of the text's tokens in nats) / ln 2 / (UTF-8 bytes
of the text). It does not depend on the tokenizer's vocabulary, so arms with different tokenizers
compare (Gao et al. 2020, The Pile, Section 5; Llama 3 reports bpb-style losses for its data ablations).

Each text is encoded ``[BOS] tokens`` and scored on its own (no attention across texts). A text
longer than the model's window ``L`` is not cut into independent pieces: windows of ``L`` tokens
start every ``stride`` tokens, and each window scores only the tokens the previous windows did not,
so every token is scored once, with at least ``L - stride`` tokens of context once the text is
longer than ``L`` (the "sliding window" evaluation of Press et al. 2021 / Hugging Face's perplexity
guide). ``stride = L`` is plain chunking; ``stride = L / 2`` (the default) halves the cut-off.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def windows_for(n: int, L: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, stop, first) of each window over ``n`` token ids: the window's row is
    ``ids[begin:stop]`` (at most ``L + 1`` ids: ``L`` inputs and their labels) and it scores the
    label positions ``first .. stop - 1`` (position p is predicted from ``ids[:p]``)."""
    out, first, begin = [], 1, 0
    while True:
        stop = min(begin + L + 1, n)
        out.append((begin, stop, first))
        first = stop
        if stop == n:
            return out
        begin += stride


@torch.no_grad()
def score(model, tokenizer, texts: list[str], seq_len: int, stride: int | None = None, batch: int = 16) -> dict:
    """``{"bpb", "nats", "tokens", "bytes"}`` of ``texts`` under ``model``."""
    stride = stride or max(1, seq_len // 2)
    if not 0 < stride <= seq_len:
        raise ValueError(f"stride must be in 1..{seq_len}")
    dev = next(model.parameters()).device
    rows, masks = [], []
    for ids in tokenizer.encode_batch(texts):
        ids = np.asarray(ids[:-1] if ids and ids[-1] == tokenizer.eos_id else ids, dtype=np.int64)
        if len(ids) < 2:
            continue
        for s, e, first in windows_for(len(ids), seq_len, stride):
            row = np.zeros(seq_len + 1, dtype=np.int64)
            row[: e - s] = ids[s:e]
            m = np.zeros(seq_len, dtype=bool)
            m[first - s - 1: e - s - 1] = True  # label j of the window is ids[s + 1 + j]
            rows.append(row)
            masks.append(m)
    total, count = 0.0, 0
    model.eval()
    for i in range(0, len(rows), batch):
        r = torch.from_numpy(np.stack(rows[i: i + batch])).to(dev)
        m = torch.from_numpy(np.stack(masks[i: i + batch])).to(dev)
        logits = model(r[:, :-1])  # plain causal attention: one text per row
        nll = F.cross_entropy(logits.flatten(0, 1).float(), r[:, 1:].flatten(), reduction="none")
        total += float(nll[m.flatten()].sum())
        count += int(m.sum())
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    return {"bpb": total / math.log(2) / nbytes if nbytes else float("nan"), "nats": total, "tokens": count,
            "bytes": nbytes}


def score_all(model, tok, evals: dict[str, list[str]], seq_len: int, stride: int | None) -> dict[str, float]:
    """Bits per byte of ``model`` on each eval set (name -> texts)."""
    return {e: score(model, tok, texts, seq_len, stride)["bpb"] for e, texts in evals.items()}


def mean_or_nan(xs: list[float]) -> float:
    """The mean of ``xs``, NaN for none."""
    return float(np.mean(xs)) if xs else float("nan")


def _std(xs: list[float]) -> float:
    return float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0


def summarise_arm(rec: dict, evals: list[str]) -> None:
    """Add to an arm's record (``rec["bpb"][eval]`` = one bpb per seed) its per-eval mean and std
    and its per-seed and overall mean bpb."""
    rec["bpb_mean"] = {e: mean_or_nan(rec["bpb"][e]) for e in evals}
    rec["bpb_std"] = {e: _std(rec["bpb"][e]) for e in evals}
    per_seed = [float(np.mean([rec["bpb"][e][s] for e in evals])) for s in range(len(rec["bpb"][evals[0]]))]
    rec["mean_bpb_per_seed"] = per_seed
    rec["mean_bpb"] = mean_or_nan(per_seed)
