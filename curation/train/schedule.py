"""Learning-rate schedule and data phase: warm-up -> constant or cosine -> annealing.

For ``T = steps`` optimizer steps (0-based step ``s``), ``W = warmup_steps`` and
``A = anneal_steps`` (the final ``anneal_tokens`` of training, rounded up to whole steps):

* warm-up, ``s < W``:            ``lr(s) = peak * (s + 1) / W``
* main, ``W <= s < T - A``:      constant ``peak``; or cosine from ``peak`` to ``peak * min_lr_ratio``
                                 reached at ``s = T - A``
* annealing, ``s >= T - A``:     ``lr(s) = lr_a * (T - s) / A``, linear from ``lr_a`` (the value the
                                 main phase would have at ``T - A``) to exactly 0 at ``s = T``;
                                 the data come from the manifest's ``anneal`` set (Llama 3, 3.1.3).

The schedule is a pure function of the step, so resuming restores it from the step alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    steps: int
    peak_lr: float
    warmup_steps: int = 0
    decay: str = "cosine"  # or "constant"
    min_lr_ratio: float = 0.1
    anneal_steps: int = 0

    def __post_init__(self):
        if self.decay not in ("constant", "cosine"):
            raise ValueError(f"decay must be constant or cosine, not {self.decay!r}")
        if not 0 <= self.anneal_steps <= self.steps:
            raise ValueError("anneal_steps must be between 0 and steps")

    @property
    def anneal_start(self) -> int:
        return self.steps - self.anneal_steps

    def phase(self, step: int) -> str:
        return "anneal" if self.anneal_steps and step >= self.anneal_start else "main"

    def _main_lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak_lr * (step + 1) / self.warmup_steps
        if self.decay == "constant":
            return self.peak_lr
        span = max(1, self.anneal_start - self.warmup_steps)
        t = min(1.0, max(0.0, (step - self.warmup_steps) / span))
        lo = self.peak_lr * self.min_lr_ratio
        return lo + (self.peak_lr - lo) * 0.5 * (1.0 + math.cos(math.pi * t))

    def lr(self, step: int) -> float:
        if step >= self.steps:
            return 0.0 if self.anneal_steps else self._main_lr(step)
        if self.phase(step) == "anneal":
            return self._main_lr(self.anneal_start) * (self.steps - step) / self.anneal_steps
        return self._main_lr(step)
