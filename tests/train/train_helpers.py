"""Helpers shared by the trainer tests (importable: conftest puts this folder on sys.path)."""

from __future__ import annotations

import json

from curation.train.config import TrainConfig
from curation.train.trainer import Trainer


def run_trainer(cfgd: dict) -> None:
    """Train with a config dict (a plain function, so ``launch`` can run it on forked ranks)."""
    Trainer(TrainConfig(**cfgd)).train()


def read_metrics(out) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def tiny_config(manifest_path, tokenizer_path, out, **kw) -> dict:
    """The tiny model on the fixture run, a high LR and active clipping so layouts must agree."""
    d = dict(
        manifest=str(manifest_path),
        tokenizer=str(tokenizer_path),
        flavour="tiny",
        seq_len=64,
        warmup_steps=1,
        lr=1e-2,
        grad_clip=0.3,
        decay="constant",
        out=str(out),
        save_final=False,
        resume=True,
    )
    d.update(kw)
    return d
