"""Which eval texts does an arm win or lose? Per-text bits per byte of arms trained exactly as
``curate evaluate`` trains them (same draw, model, schedule and seed; no new training code).

    .venv/bin/python bench/eval_texts.py --arm raw=runs/sample@extract --arm remix=runs/remixB \
        --tokenizer runs/eval-remix-vs-raw/tokenizer.json --seed 0 --set multilingual --cpu-threads 1

For each arm: ``curation.evaluation.draw.draw`` at the arm's own domain shares (as ``_compare``
draws an arm that is not matched), ``curation.train.in_memory.train`` from the seed's initial
weights, then ``curation.train.bpb.score`` on every eval set and on every text of ``--set`` alone.
A set's bpb is its texts' bits over its bytes, so a long text in a script the model never saw
(Korean, Arabic: byte tokens) can move a set more than ten short texts: this shows where.

Also, per text and arm, how many of the text's tokens never occur in the arm's documents (all of
them, not only the drawn ones): whether the shared tokenizer gives one arm tokens the other never
trains on.

Prints a table per ``--set`` (one row a text: its first characters, bytes, tokens, and per arm the
bpb and the unseen tokens) and, last, one JSON object: per arm the eval sets' bpb, the domain
shares and documents drawn, and the per-text bpb and unseen tokens of each ``--set``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.evaluation import sources, suite  # noqa: E402
from curation.evaluation.draw import ArmDocs, draw  # noqa: E402
from curation.evaluation.evaluate import Options, _own_shares, parse_arm, schedule  # noqa: E402
from curation.tokenizer import load_tokenizer  # noqa: E402
from curation.train import bpb as bpb_mod  # noqa: E402
from curation.train.in_memory import new_model, train, train_config  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arm", action="append", required=True, help="NAME=SOURCE, as curate evaluate")
    ap.add_argument("--eval", action="append", default=None, help="NAME=FILE (default: the bundled suite)")
    ap.add_argument("--set", action="append", default=None, help="eval set scored text by text (default: all)")
    ap.add_argument("--tokenizer", required=True, help="the tokenizer.json of the evaluate run to explain")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokens", type=int, default=200_000)
    ap.add_argument("--flavour", default="debug")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--cpu-threads", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    a = ap.parse_args(argv)

    o = Options(arms=[parse_arm(s) for s in a.arm], evals=a.eval, tokens=a.tokens, flavour=a.flavour,
                seq_len=a.seq_len, batch=a.batch, cpu_threads=a.cpu_threads, tokenizer=a.tokenizer)
    tok = load_tokenizer(a.tokenizer)
    cfg = train_config(o, o.flavour, o.seq_len)
    steps, sched = schedule(o, cfg)
    evals = suite.load(o.evals)
    per_text = a.set or list(evals)
    res = {}
    for name, spec in o.arms:
        docs = ArmDocs(sources.resolve(spec))
        d = draw(docs, tok, a.seed, steps * o.batch, o.seq_len, shares=_own_shares(docs))
        model = new_model(cfg, tok.vocab_size, a.seed)
        train(model, d.windows, d.doc_ids, cfg, sched, label=name, progress=None, seed=a.seed)
        r = {"source": spec, "seed": a.seed, "domain_shares": d.shares(), "documents": len(d.texts),
             "bpb": {e: bpb_mod.score(model, tok, t, o.seq_len)["bpb"] for e, t in evals.items()},
             "texts": {e: [bpb_mod.score(model, tok, [t], o.seq_len)["bpb"] for t in evals[e]] for e in per_text}}
        seen = np.zeros(tok.vocab_size, bool)
        for ids in tok.encode_batch(docs.texts):
            seen[np.asarray(ids, np.int64)] = True
        r["unseen_tokens"] = {e: [int((~seen[np.asarray(ids, np.int64)]).sum()) for ids in tok.encode_batch(evals[e])]
                              for e in per_text}
        res[name] = r
        print(f"{name}: " + ", ".join(f"{e} {v:.4f}" for e, v in r["bpb"].items()), file=sys.stderr, flush=True)
    names = list(res)
    for e in per_text:
        print(f"\n{e}: bpb per text (seed {a.seed})")
        ntok = [len(ids) for ids in tok.encode_batch(evals[e])]
        print("| text | bytes | tokens | " + " | ".join(f"{n} bpb | {n} unseen" for n in names) + " |")
        print("| --- | --- | --- | " + " | ".join("--- | ---" for _ in names) + " |")
        for i, t in enumerate(evals[e]):
            head = t[:12].replace("\n", " ").replace("|", "/")
            print(f"| {head} | {len(t.encode())} | {ntok[i]} | "
                  + " | ".join(f"{res[n]['texts'][e][i]:.3f} | {res[n]['unseen_tokens'][e][i]}" for n in names) + " |")
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
