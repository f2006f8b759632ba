"""Train one arm: the bundled trainer's model, optimizer and schedule on a drawn token stream.

Nothing here is a second model: the decoder is ``curation.train.model.Transformer`` (shape from
``model_args(flavour, ...)``), the optimizer ``curation.train.trainer.build_optimizer`` (AdamW,
no decay on norms and the embedding), the learning rate ``curation.train.schedule.Schedule`` and
the gradient clipping ``curation.train.parallel.clip_grad_norm_``; options come from a
``TrainConfig``. What differs from ``python -m curation.train`` is only the data: the windows
are drawn in memory (``draw.py``) rather than read from a manifest, so every arm and seed gets
exactly the same number of tokens, and nothing is checkpointed. One process, document-causal
attention (sdpa on CPU, as the trainer).

Same seed, same initial weights: the weights are initialised under ``torch.manual_seed(seed)``
before any data is touched, so every arm of a seed starts from the same model.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from curation.train.config import TrainConfig
from curation.train.model import Transformer, model_args
from curation.train.parallel import clip_grad_norm_, resolve_device
from curation.train.schedule import Schedule
from curation.train.trainer import build_optimizer


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)  # training loss (nats/token) per step
    tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def train_config(o, flavour: str, seq_len: int) -> TrainConfig:
    """The TrainConfig of a short run: ``o`` has ``batch``, ``device``, ``cpu_threads``, ``lr`` and
    ``warmup_steps`` (``curate evaluate``'s options); lr and warmup where given, else TrainConfig's."""
    kw = dict(flavour=flavour, seq_len=seq_len, global_batch_size=o.batch, device=o.device, cpu_threads=o.cpu_threads)
    if o.lr is not None:
        kw["lr"] = o.lr
    if o.warmup_steps is not None:
        kw["warmup_steps"] = o.warmup_steps
    return TrainConfig(**kw)


def device_of(cfg: TrainConfig) -> torch.device:
    return resolve_device(cfg.device)


def new_model(cfg: TrainConfig, vocab_size: int, seed: int) -> Transformer:
    """The trainer's model for ``cfg.flavour``, initialised from ``seed`` (same seed, same weights)."""
    torch.manual_seed(seed)
    dev = device_of(cfg)
    backend = cfg.attention if cfg.attention != "auto" else ("flex" if dev.type == "cuda" else "sdpa")
    model = Transformer(model_args(cfg.flavour, vocab_size, cfg.seq_len), backend, cfg.doc_masking)
    model.init_weights()
    return model.to(dev)


def train(model: Transformer, windows: np.ndarray, doc_ids: np.ndarray, cfg: TrainConfig, schedule: Schedule,
          label: str = "", progress=sys.stderr, seed: int = 0) -> TrainResult:
    """``schedule.steps`` optimizer steps over ``windows`` (``cfg.global_batch_size`` rows a step,
    in order). Progress lines go to ``progress`` (None: quiet)."""
    dev = next(model.parameters()).device
    bsz = cfg.global_batch_size
    if windows.shape[0] < schedule.steps * bsz:
        raise ValueError(f"{label}: {windows.shape[0]} windows for {schedule.steps} steps x {bsz}")
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    params, opt = build_optimizer(model, cfg, schedule.lr(0))
    bf16 = dev.type == "cuda" and cfg.mixed_precision != "fp32"
    w = torch.from_numpy(windows)
    d = torch.from_numpy(doc_ids)
    res = TrainResult()
    t0 = time.perf_counter()
    last_print = t0
    model.train()
    for step in range(schedule.steps):
        sl = slice(step * bsz, (step + 1) * bsz)
        x, y, docs = w[sl, :-1].to(dev), w[sl, 1:].to(dev), d[sl, :-1].to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x, docs)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        loss.backward()
        clip_grad_norm_(params, cfg.grad_clip)
        lr = schedule.lr(step)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        opt.zero_grad(set_to_none=True)
        res.losses.append(float(loss.detach()))
        res.tokens += x.numel()
        now = time.perf_counter()
        if progress is not None and (now - last_print > 5 or step + 1 == schedule.steps):
            last_print = now
            tps = res.tokens / (now - t0)
            left = (schedule.steps - step - 1) * bsz * x.shape[1] / tps if tps else 0
            print(f"[evaluate] {label}: step {step + 1}/{schedule.steps} loss {res.losses[-1]:.3f} "
                  f"{tps:,.0f} tok/s, {left:.0f}s left", file=progress, flush=True)
    res.seconds = time.perf_counter() - t0
    model.eval()
    return res
