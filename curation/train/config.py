"""Trainer configuration: one flat dataclass, filled from defaults, then a YAML file, then flags.

Every field carries its help text, so ``python -m curation.train --help`` and ``docs/train.md``
describe the same options. Precedence: command-line flag > YAML file (``--config``) > default.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from .schedule import Ramp, parse_ramp


@lru_cache(maxsize=64)
def _cached_ramp(spec: str, option: str) -> Ramp:
    return parse_ramp(spec, option)


def _opt(default: Any, help: str, choices: tuple | None = None) -> Any:
    meta = {"help": help}
    if choices:
        meta["choices"] = choices
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    # ---- data -------------------------------------------------------------------------------
    manifest: str = _opt(None, "path to a curated run's manifest.json (format curation.mix/1)")
    data: str = _opt(
        "auto",
        "what the loader reads: tokens = the run's token shards (tokens/, written by the tokenize stage; "
        "no tokenizer call while training), text = the mix/ Parquet text tokenized on the fly, auto = "
        "tokens when the manifest has a tokens section, else text (with a one-line notice)",
        ("auto", "tokens", "text"),
    )
    text_column: str = _opt(None, "text column of the Parquet files; unset = the manifest's text_column")
    tokenizer: str = _opt(
        None,
        "a tokenizer.json file or a local Hugging Face tokenizer folder; when unset, a byte-level "
        "BPE is trained offline on the mix text (or reused from OUT/tokenizer.json). On the token path "
        "it is not needed (the vocabulary comes from the manifest) and, when given, must have the "
        "same vocabulary size as the token shards",
    )
    tokenizer_vocab_size: int = _opt(4096, "vocabulary size of the BPE trained when --tokenizer is unset")
    tokenizer_train_chars: int = _opt(
        50_000_000, "at most this many characters of mix text are used to train the BPE"
    )
    seq_len: int = _opt(
        256, "tokens per packed training sequence (with --seq-len-ramp: the model's maximum; the ramp's lengths must not exceed it)"
    )
    global_batch_size: int = _opt(8, "sequences per optimizer step, over all data-parallel ranks")
    grad_accum_steps: int = _opt(1, "micro-batches per optimizer step (per rank)")
    batch_ramp: str = _opt(
        None,
        "global batch-size ramp STEP:SIZE,... (e.g. 0:8,100:16,300:32): from 0-based step STEP on, SIZE "
        "sequences per optimizer step; replaces --global-batch-size; every SIZE divisible by dp x "
        "grad_accum_steps; unset = constant --global-batch-size",
    )
    seq_len_ramp: str = _opt(
        None,
        "sequence-length ramp STEP:LEN,... (e.g. 0:128,200:256): from 0-based step STEP on, packed "
        "sequences of LEN tokens; every LEN at most --seq-len (the model's maximum length, which sizes "
        "its RoPE tables); unset = constant --seq-len",
    )
    doc_masking: bool = _opt(
        True, "document-causal attention: a token attends only to earlier tokens of its own document"
    )
    # ---- model ------------------------------------------------------------------------------
    flavour: str = _opt("debug", "model shape", ("tiny", "debug", "1B", "8B"))
    attention: str = _opt(
        "auto",
        "attention backend: sdpa (boolean mask; CPU and GPU), flex (FlexAttention block mask, GPU), "
        "auto (flex on CUDA, sdpa elsewhere)",
        ("auto", "sdpa", "flex"),
    )
    init_from: str = _opt(None, "load model weights only (e.g. an averaged checkpoint) before step 0")
    # ---- optimizer and schedule -------------------------------------------------------------
    steps: int = _opt(20, "optimizer steps in total, annealing included")
    lr: float = _opt(1e-3, "peak learning rate (AdamW)")
    min_lr_ratio: float = _opt(0.1, "cosine decay ends at lr * min_lr_ratio when annealing starts")
    warmup_steps: int = _opt(5, "linear warm-up steps from lr/warmup_steps to lr")
    decay: str = _opt("cosine", "shape between warm-up and annealing", ("constant", "cosine"))
    anneal_tokens: int = _opt(
        0,
        "the final N training tokens come from the manifest's anneal set while the learning rate "
        "decays linearly to 0 (Llama 3); 0 disables annealing",
    )
    weight_decay: float = _opt(0.1, "AdamW weight decay (not applied to norms)")
    beta1: float = _opt(0.9, "AdamW beta1")
    beta2: float = _opt(0.95, "AdamW beta2")
    eps: float = _opt(1e-8, "AdamW epsilon")
    grad_clip: float = _opt(1.0, "clip the global gradient norm (over all mesh groups) to this; 0 = off")
    seed: int = _opt(0, "seed of the model initialization")
    # ---- parallelism and precision ----------------------------------------------------------
    dp: int = _opt(-1, "data-parallel (FSDP2) degree; -1 = world size / tp")
    tp: int = _opt(1, "tensor-parallel degree (with sequence parallel)")
    device: str = _opt("auto", "cpu, cuda, or auto (cuda when available)", ("auto", "cpu", "cuda"))
    mixed_precision: str = _opt(
        "auto",
        "bf16 = bf16 parameters and compute with fp32 gradient reduction and fp32 master weights; "
        "fp32 = everything in fp32; auto = bf16 on CUDA, fp32 on CPU",
        ("auto", "bf16", "fp32"),
    )
    cpu_threads: int = _opt(
        0, "intra-op CPU threads (torch.set_num_threads); 0 = torch's default. 1 is faster on a busy machine"
    )
    compile: bool = _opt(False, "torch.compile each transformer block (GPU)")
    activation_checkpointing: bool = _opt(False, "recompute each block's activations in backward")
    # ---- checkpoints and logs ---------------------------------------------------------------
    out: str = _opt("train-out", "output folder: config.json, tokenizer.json, metrics.jsonl, checkpoints/")
    checkpoint_every: int = _opt(0, "save a distributed checkpoint every N steps (and at the end); 0 = only at the end")
    keep_checkpoints: int = _opt(0, "keep only the newest N checkpoints; 0 = keep all")
    resume: bool = _opt(True, "resume from the newest checkpoint in OUT/checkpoints when there is one")
    save_final: bool = _opt(True, "save a checkpoint after the last step")
    log_every: int = _opt(1, "print a live line every N steps (every step is written to metrics.jsonl)")
    eval_every: int = _opt(0, "bits per byte on the bundled eval suite every N steps and at the end, into "
                              "metrics.jsonl (eval_bpb, eval_bpb_mean); 0 = off")
    eval_texts: int = _opt(16, "texts of each eval set scored by --eval-every (the first N of each)")

    # -------------------------------------------------------------------------------------------
    def __post_init__(self):
        # a YAML mapping or list of pairs becomes the canonical "STEP:SIZE,..." string (checked in validate)
        for name, option in (("batch_ramp", "--batch-ramp"), ("seq_len_ramp", "--seq-len-ramp")):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                setattr(self, name, parse_ramp(v, option).spec())

    @property
    def tokens_per_step(self) -> int:
        """Tokens of a step without ramps (and of step 0 with them: see ``tokens_at``)."""
        return self.tokens_at(0)

    def batch_ramp_parsed(self) -> Ramp | None:
        return _cached_ramp(self.batch_ramp, "--batch-ramp") if self.batch_ramp else None

    def seq_len_ramp_parsed(self) -> Ramp | None:
        return _cached_ramp(self.seq_len_ramp, "--seq-len-ramp") if self.seq_len_ramp else None

    def batch_size_at(self, step: int) -> int:
        """Global batch size (sequences) of 0-based step ``step``."""
        r = self.batch_ramp_parsed()
        return r.at(step) if r else self.global_batch_size

    def seq_len_at(self, step: int) -> int:
        """Sequence length (tokens) of 0-based step ``step``."""
        r = self.seq_len_ramp_parsed()
        return r.at(step) if r else self.seq_len

    def tokens_at(self, step: int) -> int:
        return self.batch_size_at(step) * self.seq_len_at(step)

    def anneal_steps(self) -> int:
        """Steps of the annealing phase: the fewest final steps whose tokens (with the ramped sizes of
        those steps) add up to at least ``anneal_tokens``, at most ``steps``. Without ramps this is
        ceil(anneal_tokens / tokens_per_step)."""
        if self.anneal_tokens <= 0:
            return 0
        if not (self.batch_ramp or self.seq_len_ramp):
            return min(self.steps, -(-self.anneal_tokens // self.tokens_per_step))
        total = 0
        for a in range(1, self.steps + 1):
            total += self.tokens_at(self.steps - a)
            if total >= self.anneal_tokens:
                return a
        return self.steps

    def validate(self, dp: int | None = None) -> None:
        """Check the options; with ``dp`` (the data-parallel degree, once known) also that every
        batch size of the ramp splits into dp x grad_accum_steps equal micro-batches."""
        if not self.manifest:
            raise ValueError("--manifest is required")
        if self.steps < 1 or self.seq_len < 2 or self.global_batch_size < 1 or self.grad_accum_steps < 1:
            raise ValueError("steps, seq_len, global_batch_size and grad_accum_steps must be positive")
        if self.tp < 1:
            raise ValueError("tp must be >= 1")
        br, sr = self.batch_ramp_parsed(), self.seq_len_ramp_parsed()
        if br:
            div = self.grad_accum_steps * (dp if dp and dp > 0 else 1)
            what = f"dp ({dp}) x grad_accum_steps ({self.grad_accum_steps})" if dp and dp > 0 else (
                f"grad_accum_steps ({self.grad_accum_steps})"
            )
            for s, v in br.points:
                if v % div:
                    raise ValueError(f"--batch-ramp: batch size {v} at step {s} is not divisible by {what}")
        if sr:
            for s, v in sr.points:
                if v < 2:
                    raise ValueError(f"--seq-len-ramp: length {v} at step {s} must be at least 2")
                if v > self.seq_len:
                    raise ValueError(
                        f"--seq-len-ramp: length {v} at step {s} exceeds --seq-len {self.seq_len} (the model's "
                        "maximum sequence length, which sizes its RoPE tables); raise --seq-len"
                    )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _parse_bool(v: str) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {v!r}")


def _field_type(f: dataclasses.Field) -> type:
    t = f.type if isinstance(f.type, str) else f.type.__name__
    return {"str": str, "int": int, "float": float, "bool": _parse_bool}[t]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m curation.train",
        description=(
            "Train a Llama 3-style decoder on a curated run (manifest.json, mix/, anneal/) with FSDP2 "
            "and tensor parallelism. Single process: python -m curation.train ...; several ranks: "
            "torchrun --nproc-per-node N -m curation.train ... Options may also come from a YAML "
            "file (--config); flags override it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", default=None, help="YAML file whose keys are the option names below (dashes or underscores)")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": f.metadata["help"]}
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        typ = _field_type(f)
        if typ is _parse_bool:
            kw["type"] = _parse_bool
            kw["metavar"] = "BOOL"
            kw["nargs"] = "?"
            kw["const"] = True
        else:
            kw["type"] = typ
        kw["help"] += f" (default: {f.default})"
        p.add_argument(flag, **kw)
    return p


def load_config(argv: list[str] | None = None, **overrides: Any) -> TrainConfig:
    """Defaults < YAML (--config) < command-line flags < keyword overrides."""
    args = vars(build_parser().parse_args(argv if argv is not None else []))
    values: dict[str, Any] = {}
    cfg_path = args.pop("config", None)
    if cfg_path:
        import yaml

        data = yaml.safe_load(Path(cfg_path).read_text()) or {}
        known = {f.name for f in fields(TrainConfig)}
        for k, v in data.items():
            k = k.replace("-", "_")
            if k not in known:
                raise ValueError(f"{cfg_path}: unknown option {k!r}")
            values[k] = v
    values.update(args)
    values.update(overrides)
    return TrainConfig(**values)


def config_from_dict(d: dict) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in known})
