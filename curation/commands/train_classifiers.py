"""curate train-classifiers [--models DIR] [--only NAME...] [--if-missing] [data options]

Trains the fastText quality model, the RoBERTa-architecture quality scorer, the fastText domain and
topic models, and the token-counting tokenizer of ``mix`` into a models folder, from the bundled
data or the user's own. Prints each model card's held-out figures.
"""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("train-classifiers", help="train the quality, scorer and domain models",
                       description="Train the quality (fastText), quality scorer (RoBERTa architecture), domain "
                                   "(fastText) models and the mix tokenizer into --models. Deterministic; seconds "
                                   "on a CPU with the default small configurations.")
    p.add_argument("--models", default=None, help="models folder (default: $CURATION_MODELS or models/ at the repo root)")
    p.add_argument("--only", nargs="+", choices=["quality_fasttext", "quality_roberta", "domain", "tokenizer"],
                   help="train only these models (default: all)")
    p.add_argument("--if-missing", action="store_true", help="train only the models not already in --models")
    p.add_argument("--positives", nargs="+", help="quality: your reference-quality texts (.txt lines, .jsonl, .parquet 'text')")
    p.add_argument("--negatives", nargs="+", help="quality: your random web texts (same formats)")
    p.add_argument("--teacher-labels", help="scorer: Parquet/JSONL with 'text' and 'score' columns from any teacher "
                                           "(default: fastText quality combined with Gopher heuristics)")
    p.add_argument("--roberta-checkpoint", help="scorer: a local Hugging Face checkpoint folder to fine-tune "
                                                "(e.g. distilroberta-base); default: a tiny model trained from scratch")
    p.add_argument("--roberta-epochs", type=int, default=None, help="scorer: training epochs")
    p.add_argument("--domain-data", help="domain: JSONL.gz with 'text', 'domain', 'topic', 'split' (default: bundled)")
    p.add_argument("--json", action="store_true", help="print the model cards as one JSON object")
    p.set_defaults(func=main)


def main(args) -> int:
    from curation.classifiers import models_dir as md
    from curation.classifiers.roberta import RobertaConfigParams
    from curation.cli import UserError

    root = md.resolve(args.models)
    which = list(args.only or md.ALL)
    if args.if_missing:
        have = md.present(root)
        which = [w for w in which if not have[w]]
    cfg = RobertaConfigParams(init_checkpoint=args.roberta_checkpoint)
    if args.roberta_checkpoint:
        cfg.lr = 2e-5
    if args.roberta_epochs:
        cfg.epochs = args.roberta_epochs
    cards = {}
    with md.locked(root):
        for w in md.ALL:
            if w not in which:
                continue
            if w == "quality_roberta" and not args.teacher_labels and not md.present(root)["quality_fasttext"]:
                raise UserError(f"the default scorer teacher needs the fastText quality model in {root}: "
                                "train quality_fasttext first, or give --teacher-labels")
            try:
                cards[w] = md.train_one(root, w, positives=args.positives, negatives=args.negatives,
                                        teacher_labels=args.teacher_labels, roberta_config=cfg,
                                        domain_data=args.domain_data)
            except (ValueError, FileNotFoundError) as e:
                raise UserError(f"{w}: {e}") from None
            if not args.json:
                print(f"{w}: {json.dumps(cards[w].get('held_out', cards[w]))}")
    if args.json:
        print(json.dumps({"models": str(root), "cards": cards}, sort_keys=True))
    elif not which:
        print(f"all models present in {root}")
    return 0
