"""``--eval-every N``: bits per byte of the model on held-out text while it trains.

The sets are the bundled eval suite of ``curate evaluate`` (``curation/data/eval/``: prose, news,
code, math, multilingual; curation.io.eval_suite), the first ``--eval-texts`` texts of each,
scored with the same strided-window bits per byte (curation.train.bpb.score). Every rank
scores the same texts (a sharded model needs every rank in its forward); rank 0 logs them.
"""

from __future__ import annotations

import math


class EvalBpb:
    def __init__(self, tokenizer, seq_len: int, max_texts: int):
        from curation.io import eval_suite

        if tokenizer is None:
            raise ValueError("--eval-every needs a tokenizer: the token shards name none that exists here; "
                             "pass --tokenizer FILE")
        self.tokenizer = tokenizer
        self.seq_len = seq_len
        self.sets = {name: texts[:max_texts] for name, texts in eval_suite.texts().items()}

    def __call__(self, model) -> dict:
        """``{"eval_bpb": {set: bpb}, "eval_bpb_mean": mean}`` (the mean over sets, each weighted once)."""
        from curation.train.bpb import score

        per = {name: score(model, self.tokenizer, texts, self.seq_len)["bpb"] for name, texts in self.sets.items()}
        finite = [v for v in per.values() if math.isfinite(v)]
        return {"eval_bpb": per, "eval_bpb_mean": sum(finite) / len(finite) if finite else float("nan")}


def summary_line(records: list[dict], elapsed_s: float, checkpoint) -> str:
    """The trainer's closing line: steps, tokens, final loss, final and best eval bpb, time, checkpoint."""
    if not records:
        return f"[curation.train] done: no step to run (already at the last step); checkpoint {checkpoint or '-'}"
    last = records[-1]
    evals = [(r["eval_bpb_mean"], r["step"]) for r in records if "eval_bpb_mean" in r]
    ev = ""
    if evals:
        best = min(evals)
        ev = f", eval bpb {evals[-1][0]:.3f} (best {best[0]:.3f} at step {best[1]})"
    return (f"[curation.train] done: {last['step']} steps, {last['tokens']:,} tokens, final loss "
            f"{last['loss']:.3f}{ev}, {elapsed_s:.1f}s, checkpoint {checkpoint or '- (none saved)'}")
