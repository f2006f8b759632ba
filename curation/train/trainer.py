"""The training loop: a Stateful trainer that owns the model, optimizer, loader and step.

Set-up order: process group and mesh -> data (token shards, or text + tokenizer) -> model (full, seeded, on every rank; or on the
meta device for 1B/8B on GPU) -> TP/SP -> FSDP2 -> optimizer -> resume (or ``--init-from``).
One step: for each micro-batch forward + cross-entropy + backward (FSDP reduces gradients on the
last micro-batch only), clip the global gradient norm across mesh groups, set the scheduled
learning rate, AdamW step. The step's logged loss is the mean over all data-parallel ranks.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.checkpoint.stateful import Stateful

from . import checkpoint as ckpt
from .config import TrainConfig
from .data import Manifest, TrainLoader, token_section
from .eval_bpb import EvalBpb, summary_line
from .metrics import MetricsLogger, flops_per_token, peak_flops
from .model import Transformer, count_params, model_args
from .parallel import clip_grad_norm_, init_distributed, parallelize, resolve_device
from .schedule import Schedule
from curation.tokenizer import iter_limited, load_tokenizer, train_bpe
from .validate import check_token_phases


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig, lr: float) -> tuple[list, torch.optim.AdamW]:
    """(parameters, AdamW): weight decay on matrices except the embedding, none on norms.
    Shared with ``curate evaluate`` (curation.train.in_memory)."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.ndim >= 2 and "tok_embeddings" not in n else no_decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(cfg.beta1, cfg.beta2),
        eps=cfg.eps,
        foreach=True,
    )
    return decay + no_decay, opt


def _barrier():
    if dist.is_initialized():
        dist.barrier()


class Trainer(Stateful):
    def __init__(self, cfg: TrainConfig, log_stream=None):
        cfg.validate()
        self.cfg = cfg
        if cfg.cpu_threads > 0:
            torch.set_num_threads(cfg.cpu_threads)
        device = resolve_device(cfg.device)
        self.dist = d = init_distributed(cfg.dp, cfg.tp, device)
        cfg.validate(d.dp)  # ramp batch sizes must split over dp x grad_accum_steps
        self.device = device
        self.out = Path(cfg.out)
        if d.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(cfg.to_json())
        _barrier()

        # ---- data
        self.manifest = Manifest(cfg.manifest, cfg.text_column)
        self.tokens = token_section(self.manifest, cfg.data)  # None: the text path
        if self.tokens is None and cfg.data == "auto" and d.is_main:
            print(f"[curation.train] {self.manifest.path} has no tokens section (an older run): reading mix/ "
                  "text and tokenizing it while training", flush=True)
        self.tokenizer = self._setup_tokenizer() if self.tokens is None else self._check_token_vocab()
        self.vocab_size = self.tokenizer.vocab_size if self.tokens is None else int(self.tokens["vocab_size"])
        self.schedule = Schedule(
            steps=cfg.steps,
            peak_lr=cfg.lr,
            warmup_steps=cfg.warmup_steps,
            decay=cfg.decay,
            min_lr_ratio=cfg.min_lr_ratio,
            anneal_steps=cfg.anneal_steps(),
        )
        phases = ("mix", "anneal") if self.schedule.anneal_steps else ("mix",)
        if self.tokens is not None:  # every size, BOS/EOS and token id, before the first step
            check_token_phases(self.manifest.root, self.tokens, phases)
        self.loader = TrainLoader(
            self.manifest, self.tokenizer, cfg.seq_len_at(0), cfg.batch_size_at(0), d.dp_rank, d.dp, cfg.grad_accum_steps,
            phases, "tokens" if self.tokens is not None else "text",
        )
        if self.schedule.anneal_steps and not self.loader.has_phase("anneal"):
            raise ValueError(f"--anneal-tokens {cfg.anneal_tokens} but {self.manifest.path} lists no anneal "
                             f"{'token index' if self.tokens is not None else 'files'}")

        # ---- model
        self.bf16 = cfg.mixed_precision == "bf16" or (cfg.mixed_precision == "auto" and device.type == "cuda")
        backend = cfg.attention if cfg.attention != "auto" else ("flex" if device.type == "cuda" else "sdpa")
        self.margs = model_args(cfg.flavour, self.vocab_size, cfg.seq_len)
        meta_init = device.type == "cuda" and cfg.flavour in ("1B", "8B")
        torch.manual_seed(cfg.seed)
        if meta_init:
            with torch.device("meta"):
                model = Transformer(self.margs, backend, cfg.doc_masking)
        else:
            model = Transformer(self.margs, backend, cfg.doc_masking)
            model.init_weights()  # the same full weights on every rank, whatever the layout
            model.to(device)
        self.n_params, self.n_params_non_emb = count_params(model)
        model = parallelize(model, d, self.bf16, compile=cfg.compile, ac=cfg.activation_checkpointing)
        if meta_init:
            model.to_empty(device=device)
            torch.manual_seed(cfg.seed)
            model.init_weights(buffer_device=device)
        self.model = model
        self.fsdp = hasattr(model, "set_requires_gradient_sync")

        self.params, self.optimizer = build_optimizer(model, cfg, self.schedule.lr(0))
        self.evaluator = EvalBpb(self.tokenizer, cfg.seq_len, cfg.eval_texts) if cfg.eval_every > 0 else None
        self.last_checkpoint: Path | None = None

        # ---- metrics
        self.flops_per_token = self._flops_per_token(cfg.seq_len_at(0))
        self.peak = peak_flops(device)
        self.step = 0
        self.tokens_seen = 0
        self.resumed_from: Path | None = None

        last = ckpt.latest_checkpoint(self.out / "checkpoints") if cfg.resume else None
        if last is not None:
            self.load_checkpoint(last)
            self.resumed_from = last
        elif cfg.init_from:
            ckpt.load_model_weights(cfg.init_from, self.model)
        # a resumed run appends to metrics.jsonl; a fresh one starts it over
        self.logger = MetricsLogger(
            self.out / "metrics.jsonl", d.is_main, cfg.log_every, append=last is not None,
            **({"stream": log_stream} if log_stream else {}),
        )
        if d.is_main:
            where = f", resumed from {last}" if self.resumed_from else ""
            print(
                f"[curation.train] {cfg.flavour}: {self.n_params / 1e6:.2f}M params "
                f"({self.n_params_non_emb / 1e6:.2f}M non-embedding), vocab {self.margs.vocab_size}, "
                f"world {d.world_size} (dp {d.dp} x tp {d.tp}) on {device.type}, attention {backend}, "
                f"{'bf16' if self.bf16 else 'fp32'}, {cfg.steps} steps x {self._step_shape_text()}, "
                f"anneal {self.schedule.anneal_steps} steps{where}",
                flush=True,
            )

    # ------------------------------------------------------------------------------------------
    def _flops_per_token(self, seq_len: int) -> int:
        return flops_per_token(self.n_params_non_emb, self.margs.n_layers, self.margs.n_heads, self.margs.head_dim, seq_len)

    def _step_shape_text(self) -> str:
        cfg = self.cfg
        if not (cfg.batch_ramp or cfg.seq_len_ramp):
            return f"{cfg.tokens_per_step} tokens"
        return f"ramped batch [{cfg.batch_ramp or cfg.global_batch_size}] x seq len [{cfg.seq_len_ramp or cfg.seq_len}]"

    def _check_token_vocab(self):
        """The token path calls no tokenizer. One is still loaded when at hand (--tokenizer, or the one
        the shards name), for decoding and evaluation, and copied to OUT/tokenizer.json; it must
        have the shards' vocabulary. A run moved without its tokenizer trains all the same."""
        named = self.cfg.tokenizer or self.manifest.tokenizer("tokens")
        if not self.cfg.tokenizer and not (named and Path(named).exists()):
            return None
        tok = load_tokenizer(named)
        if tok.vocab_size != int(self.tokens["vocab_size"]):
            raise ValueError(
                f"tokenizer {named} has {tok.vocab_size} tokens but the token shards of {self.manifest.path} "
                f"were written with {self.tokens['vocab_size']} ({self.tokens.get('tokenizer')}); "
                "drop --tokenizer, or use --data text")
        if self.dist.is_main and not (self.out / "tokenizer.json").is_file():
            tok.save(self.out / "tokenizer.json")
        return tok

    def _setup_tokenizer(self):
        cfg, d = self.cfg, self.dist
        if cfg.tokenizer:
            return load_tokenizer(cfg.tokenizer)
        path = self.out / "tokenizer.json"
        named = self.manifest.tokenizer()
        if not path.is_file() and named and Path(named).exists():
            tok = load_tokenizer(named)  # the tokenizer the curation run counted tokens with
            if d.is_main:
                tok.save(path)  # a copy in OUT, so a resumed run keeps the same vocabulary
            return tok
        if not path.is_file() and d.is_main:
            t0 = time.perf_counter()
            train_bpe(iter_limited(self.manifest.iter_texts("mix"), cfg.tokenizer_train_chars), cfg.tokenizer_vocab_size, path)
            print(f"[curation.train] trained a byte-level BPE ({cfg.tokenizer_vocab_size}) in {time.perf_counter() - t0:.1f}s -> {path}", flush=True)
        _barrier()
        return load_tokenizer(path)

    # Stateful: the trainer's own part of a checkpoint ----------------------------------------
    def state_dict(self) -> dict:
        return {"step": self.step, "tokens_seen": self.tokens_seen, "loader": json.dumps(self.loader.state_dict())}

    def load_state_dict(self, sd: dict) -> None:
        self.step = int(sd["step"])
        self.tokens_seen = int(sd["tokens_seen"])
        self.loader.load_state_dict(json.loads(sd["loader"]))

    def _states(self) -> dict:
        return {"model": ckpt.ModelState(self.model), "optimizer": ckpt.OptimizerState(self.model, self.optimizer), "train": self}

    def save_checkpoint(self) -> Path:
        meta = {"config": self.cfg.to_dict(), "tokens_seen": self.tokens_seen, "dp": self.dist.dp, "tp": self.dist.tp}
        self.last_checkpoint = ckpt.save(self.out / "checkpoints", self.step, self._states(), meta, self.dist.is_main, self.cfg.keep_checkpoints)
        return self.last_checkpoint

    def load_checkpoint(self, path: str | Path) -> None:
        ckpt.load(path, self._states())

    # ------------------------------------------------------------------------------------------
    def train_step(self, batches, lr: float) -> tuple[float, float]:
        self.model.train()
        n = len(batches)
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float32)
        for i, b in enumerate(batches):
            if self.fsdp and n > 1:
                self.model.set_requires_gradient_sync(i == n - 1)
            inputs = b.inputs.to(self.device, non_blocking=True)
            labels = b.labels.to(self.device, non_blocking=True)
            docs = b.doc_ids.to(self.device, non_blocking=True)
            logits = self.model(inputs, docs)
            loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten()) / n
            loss.backward()
            loss_sum += loss.detach()
        gnorm = clip_grad_norm_(self.params, self.cfg.grad_clip)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.dist.distributed:  # mean over data-parallel ranks (TP ranks hold equal copies)
            dist.all_reduce(loss_sum)
            loss_sum /= self.dist.world_size
        return float(loss_sum), float(gnorm)

    def close(self) -> None:
        """Destroy the process group if this trainer started it."""
        if self.dist.owns_group and dist.is_initialized():
            dist.destroy_process_group()

    def train(self) -> list[dict]:
        cfg = self.cfg
        records = []
        started = time.perf_counter()
        try:
            while self.step < cfg.steps:
                t0 = time.perf_counter()
                phase = self.schedule.phase(self.step)
                lr = self.schedule.lr(self.step)
                # ramps: this step's sizes are a function of the step, so a resumed run gets them back
                bsz, slen = cfg.batch_size_at(self.step), cfg.seq_len_at(self.step)
                tokens_per_step = bsz * slen
                fpt = self._flops_per_token(slen)
                batches = self.loader.next_batches("anneal" if phase == "anneal" else "mix", bsz, slen)
                loss, gnorm = self.train_step(batches, lr)
                if self.device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                self.step += 1
                self.tokens_seen += tokens_per_step
                tps = tokens_per_step / dt
                rec = {
                    "step": self.step,
                    "phase": phase,
                    "loss": loss,
                    "lr": lr,
                    "grad_norm": gnorm,
                    "batch_size": bsz,
                    "seq_len": slen,
                    "tokens": self.tokens_seen,
                    "tokens_per_s": tps,
                    "step_time_s": dt,
                    "mfu": (tps * fpt / (self.dist.world_size * self.peak)) if self.peak else None,
                }
                if self.device.type == "cuda":
                    rec["max_mem_gib"] = torch.cuda.max_memory_allocated(self.device) / 2**30
                if not math.isfinite(loss):
                    raise FloatingPointError(f"loss is {loss} at step {self.step}")
                if self.evaluator and (self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                    rec.update(self.evaluator(self.model))
                self.logger.log(rec)
                records.append(rec)
                every = cfg.checkpoint_every
                if (every and self.step % every == 0) or (self.step == cfg.steps and cfg.save_final):
                    self.save_checkpoint()
        finally:
            self.logger.close()
        if self.dist.is_main:
            print(summary_line(records, time.perf_counter() - started, self.last_checkpoint or self.resumed_from),
                  file=self.logger.stream, flush=True)
        return records
