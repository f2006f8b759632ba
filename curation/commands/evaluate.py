"""curate evaluate --arm NAME=SOURCE ... [--eval NAME=FILE ...] [--tokens N] [--seeds K] ... (docs/evaluate.md)"""

from __future__ import annotations

import json
import sys

HELP = "train the same small model on each arm's data and compare held-out bits per byte (docs/evaluate.md)"


def register(sub) -> None:
    s = sub.add_parser("evaluate", help=HELP, description=(
        "Does my curation help? Each arm trains the bundled trainer's model, from the same initial weights, on "
        "exactly --tokens tokens of its own data, once per seed; held-out bits per byte on every eval set, "
        "13-gram contamination, an annealing test (--anneal-from) or a mix search (--mix-grid). Writes "
        "OUT/evaluate.json and OUT/evaluate.html. Options: docs/evaluate.md."))
    s.add_argument("--arm", action="append", default=[], metavar="NAME=SOURCE", required=True,
                   help="an arm: a run folder (its mix), RUN@STAGE (what that stage kept), or a Parquet/JSONL "
                        "file or folder with a text column; repeat for each arm (the first is the baseline)")
    s.add_argument("--eval", action="append", default=None, metavar="NAME=FILE",
                   help="a held-out eval set (.jsonl(.gz), .parquet or .txt); repeatable; default: the bundled "
                        "suite (prose, news, code, math, multilingual)")
    s.add_argument("--tokens", type=int, default=200_000, help="training tokens per arm and seed (default: 200000)")
    s.add_argument("--seeds", type=int, default=2, help="seeds per arm: initial weights and data draw (default: 2)")
    s.add_argument("--flavour", default="debug", choices=("tiny", "debug", "1B", "8B"),
                   help="model shape of curation.train (default: debug)")
    s.add_argument("--seq-len", type=int, default=256, help="tokens per training window (default: 256)")
    s.add_argument("--batch", type=int, default=8, help="windows per optimizer step (default: 8)")
    s.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the trainer's 1e-3; "
                   "with --anneal-from: the checkpoint's lr x min_lr_ratio)")
    s.add_argument("--warmup-steps", type=int, default=None, help="warm-up steps (default: the trainer's 5)")
    s.add_argument("--stride", type=int, default=None, help="scoring stride of the sliding window (default: seq-len / 2)")
    s.add_argument("--tokenizer", default=None, help="tokenizer.json or local HF folder shared by every arm "
                   "(default: OUT/tokenizer.json, trained once on equal shares of every arm's text)")
    s.add_argument("--match-domains", action="append", default=[], metavar="[ARM:]TARGET",
                   help="draw ARM (default: every other arm) to TARGET's domain token shares, keeping its own "
                        "documents: separates reweighting from filtering; repeatable")
    s.add_argument("--anneal-from", default=None, metavar="CHECKPOINT",
                   help="annealing test: anneal this trainer checkpoint (lr linear to 0) on each candidate arm "
                        "mixed into the base arm, and on the base arm alone; report the bpb change")
    s.add_argument("--anneal-base", default=None, metavar="ARM", help="the base arm of the annealing test (default: the first)")
    s.add_argument("--anneal-fraction", type=float, default=0.3,
                   help="share of candidate tokens in an annealing run (default: 0.3, Llama 3 Section 3.1.3)")
    s.add_argument("--mix-grid", type=int, default=None, metavar="K",
                   help="mix search: the run's target, its data's natural shares and K-2 mixes of its domains around "
                        "each of them and at random, none past the epoch cap (undetermined text never up-sampled); "
                        "a poor fit (leave-one-out R^2 < 0.5, or candidates within the seed noise) is a warning")
    s.add_argument("--mix-candidates", default=None, metavar="FILE",
                   help="mix search over the mixes of a YAML/JSON file (a list of {domain: weight})")
    s.add_argument("--mix-run", default=None, metavar="RUN", help="run whose documents a mix search resamples "
                   "(default: the first arm from a run folder)")
    s.add_argument("--apply", default=None, metavar="OUTPUT",
                   help="after a mix search: re-mix its run to the recommended target into the run folder OUTPUT, "
                        "re-running only mix and tokenize (with the run's own parameters) over RUN@<the stage "
                        "before mix>, as curate run --input RUN@STAGE does; a poor fit is warned about, not a stop")
    s.add_argument("--apply-tokens", type=int, default=None, metavar="N",
                   help="with --apply: the re-mixed run's mix.total_tokens, e.g. the tokens you will train on "
                        "(--tokens, to evaluate it as the search measured its candidates: no repeat a training "
                        "of N tokens does not need); default: the run's own (unset: as large as its input)")
    s.add_argument("--select", action="append", default=[], metavar="COLUMN",
                   help="does a score pick better data? split the one --arm, per domain, into the top and bottom "
                        "half of its bytes by COLUMN (higher is better) and a seeded random half, and train on each "
                        "at matched domain shares; passes when top beats random by 1%% and bottom is the worst; "
                        "repeatable (one random half for all)")
    s.add_argument("--select-seed", type=int, default=0, help="seed of --select's random half (default: 0)")
    s.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: cuda when available")
    s.add_argument("--cpu-threads", type=int, default=0, help="torch threads; 0 = torch's default")
    s.add_argument("--out", default="evaluate-out", help="output folder (default: evaluate-out)")
    s.add_argument("--json", action="store_true", help="print evaluate.json as one JSON object on the last line of stdout")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    s.set_defaults(func=main)


def main(args) -> int:
    from curation.cli import UserError
    from curation.evaluation.evaluate import Options, parse_arm, run
    from curation.evaluation.sources import SourceError

    try:
        o = Options(
            arms=[parse_arm(a) for a in args.arm], evals=args.eval, tokens=args.tokens, seeds=args.seeds,
            flavour=args.flavour, seq_len=args.seq_len, batch=args.batch, lr=args.lr, warmup_steps=args.warmup_steps,
            stride=args.stride, tokenizer=args.tokenizer, match_domains=args.match_domains,
            anneal_from=args.anneal_from, anneal_base=args.anneal_base, anneal_fraction=args.anneal_fraction,
            mix_grid=args.mix_grid, mix_candidates=args.mix_candidates, mix_run=args.mix_run, apply=args.apply, apply_tokens=args.apply_tokens,
            device=args.device,
            cpu_threads=args.cpu_threads, out=args.out, select=args.select, select_seed=args.select_seed,
        )
        res = run(o, progress=None if args.quiet else sys.stderr)
    except (SourceError, ValueError) as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps(res, separators=(",", ":"), default=str))
    else:
        _print_table(res)
    return 0


def _print_table(res: dict) -> None:
    evals = list(res.get("evals", {}))
    arms = res.get("arms", {})
    if arms and all("bpb_mean" in a for a in arms.values()):
        w = max(len(n) for n in [*arms, "arm"]) + 2
        cols = [max(len(e), 7) + 2 for e in evals]  # a space between columns, whatever the names
        print("bits per byte, mean over seeds")
        print("arm".ljust(w) + "".join(e.rjust(c) for e, c in zip(evals, cols)) + "mean".rjust(10))
        for n, a in arms.items():
            print(n.ljust(w) + "".join(f"{a['bpb_mean'][e]:{c}.4f}" for e, c in zip(evals, cols))
                  + f"{a['mean_bpb']:10.4f}")
    comp = res.get("comparison") or {}
    for name, rel in comp.get("relative", {}).items():
        verdict = comp.get("verdict", {}).get(name, {})
        print(f"{name} vs {comp['baseline']}: " + ", ".join(
            f"{k} {v:+.1%}" + (f" ({verdict[k]})" if k in verdict else "") for k, v in rel.items()))
    for col, v in ((res.get("select") or {}).get("verdict") or {}).items():
        print(f"select {col}: top vs random {v['top_vs_random']:+.2%}, bottom vs random {v['bottom_vs_random']:+.2%}, "
              f"bottom {'is' if v['bottom_worst'] else 'is not'} the worst: {'PASSES' if v['passes'] else 'does not pass'}")
    if res.get("mix_search"):
        print("recommended " + res["mix_search"]["yaml"])
        applied = res["mix_search"].get("applied")
        if applied:
            print(f"re-mixed run: {applied['output']} (from {applied['input']}), achieved mix "
                  + ", ".join(f"{d} {v:.3f}" for d, v in (applied["achieved_mix"] or {}).items()))
            print(f"next: {applied['next']}")
    if res.get("anneal"):
        for c, v in res["anneal"]["candidates"].items():
            print(f"anneal {c}: " + ", ".join(f"{e} {d:+.4f}" for e, d in v["delta"].items()))
    for wmsg in res.get("warnings", []):
        print("warning: " + wmsg)
    print(f"report: {res['options']['out']}/evaluate.html")
