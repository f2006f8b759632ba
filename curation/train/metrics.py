"""Metrics: loss, learning rate, tokens/s and MFU, written as JSONL and printed as a live line.

FLOPs per token (the PaLM appendix B convention, also torchtitan's)::

    flops_per_token = 6 * N  +  12 * L * H * Dh * S

``N`` is the number of parameters without the token embedding (a lookup, no matmul; the output
projection is counted), ``L`` layers, ``H`` query heads, ``Dh`` head dimension, ``S`` sequence
length. ``6 N`` is forward (2 N) plus backward (4 N) of every matmul; ``12 L H Dh S`` is the
attention score and value matmuls (``QK^T`` and ``PV``: 2 x 2 x S x H x Dh per layer per token
forward, x3 with backward). It counts the full S x S attention, as PaLM does, even though causal
and document masks skip part of it, so MFU is comparable across runs and papers.

    MFU = tokens_per_s * flops_per_token / (world_size * peak_flops_per_device)

Peak dense bf16 tensor-core FLOP/s (no sparsity) per device are in ``PEAK_BF16_FLOPS``; on a CPU,
or an unknown device, MFU is reported as null.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

PEAK_BF16_FLOPS = {
    "H100 SXM": 989e12,
    "H100 NVL": 835e12,
    "H100 PCIe": 756e12,
    "H200": 989e12,
    "A100": 312e12,
}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    if "H200" in name:
        return PEAK_BF16_FLOPS["H200"]
    if "H100" in name:
        if "NVL" in name:
            return PEAK_BF16_FLOPS["H100 NVL"]
        if "PCIe" in name:
            return PEAK_BF16_FLOPS["H100 PCIe"]
        return PEAK_BF16_FLOPS["H100 SXM"]
    if "A100" in name:
        return PEAK_BF16_FLOPS["A100"]
    return None


def flops_per_token(non_embedding_params: int, n_layers: int, n_heads: int, head_dim: int, seq_len: int) -> int:
    return 6 * non_embedding_params + 12 * n_layers * n_heads * head_dim * seq_len


class MetricsLogger:
    """One JSON object a line per step; a live line on stdout every ``log_every`` steps (rank 0)."""

    def __init__(self, path: str | Path | None, enabled: bool, log_every: int = 1, stream=sys.stdout, append: bool = True):
        self.enabled = enabled
        self.log_every = max(1, log_every)
        self.stream = stream
        self._f = open(path, "a" if append else "w", buffering=1) if (enabled and path) else None
        self._t0 = time.perf_counter()

    def log(self, rec: dict) -> None:
        if not self.enabled:
            return
        if self._f:
            self._f.write(json.dumps(rec) + "\n")
        step = rec["step"]
        parts = []
        if step % self.log_every == 0 or rec.get("last"):
            mfu = rec.get("mfu")
            parts.append(
                f"step {step:>6} | {rec['phase']:<6} | loss {rec['loss']:.4f} | lr {rec['lr']:.2e} | "
                f"gnorm {rec.get('grad_norm', float('nan')):.3f} | {rec['tokens_per_s']:>10.0f} tok/s | "
                f"mfu {'-' if mfu is None else f'{100 * mfu:.1f}%'} | {time.perf_counter() - self._t0:7.1f}s"
            )
        if "eval_bpb_mean" in rec:  # printed whenever measured, whatever log_every
            sets = " ".join(f"{k} {v:.3f}" for k, v in rec["eval_bpb"].items())
            parts.append(("" if parts else f"step {step:>6} | ") + f"eval bpb {rec['eval_bpb_mean']:.3f} ({sets})")
        if parts:
            print(" | ".join(parts), file=self.stream, flush=True)

    def close(self) -> None:
        if self._f:
            self._f.close()
            self._f = None
