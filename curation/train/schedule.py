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

Optional ramps (``Ramp``, ``parse_ramp``) make the global batch size and the sequence length
piecewise-constant functions of the step too (Llama 3 starts with smaller batches of shorter
sequences). The learning-rate schedule stays defined in steps; only ``anneal_steps`` is derived
from tokens, counting back from the last step with the ramped sizes (``TrainConfig.anneal_steps``).
"""

from __future__ import annotations

import contextlib
import itertools
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


# ----------------------------------------------------------------------------------------------
# Batch-size and sequence-length ramps


@dataclass(frozen=True)
class Ramp:
    """A piecewise-constant value of the step: ``points = ((0, v0), (s1, v1), ...)`` means ``v0``
    for steps ``[0, s1)``, ``v1`` from ``s1`` on, and so on (steps 0-based, strictly increasing).

    Written ``"0:8,100:16,300:32"`` on the command line; a YAML file may also give a mapping
    (``{0: 8, 100: 16}``) or a list of pairs (``[[0, 8], [100, 16]]``).
    """

    points: tuple[tuple[int, int], ...]

    def at(self, step: int) -> int:
        value = self.points[0][1]
        for s, v in self.points:
            if step < s:
                break
            value = v
        return value

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(v for _, v in self.points)

    def spec(self) -> str:
        return ",".join(f"{s}:{v}" for s, v in self.points)


def _ramp_pairs(spec, option: str) -> list[tuple[object, object]]:
    if isinstance(spec, dict):
        return list(spec.items())
    if isinstance(spec, (list, tuple)):
        out = []
        for item in spec:
            if isinstance(item, str):
                out.extend(_ramp_pairs(item, option))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                out.append((item[0], item[1]))
            else:
                raise ValueError(f"{option}: entry {item!r} is not a STEP:SIZE pair")
        return out
    if isinstance(spec, str):
        out = []
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            if part.count(":") != 1:
                raise ValueError(f"{option}: entry {part!r} is not STEP:SIZE (expected e.g. '0:8,100:16')")
            out.append(tuple(part.split(":")))
        return out
    raise ValueError(f"{option}: expected 'STEP:SIZE,...', not {spec!r}")


def _as_int(x, option: str, what: str) -> int:
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if isinstance(x, str):
        with contextlib.suppress(ValueError):
            return int(x.strip())
    raise ValueError(f"{option}: {what} {x!r} is not an integer")


def parse_ramp(spec, option: str) -> Ramp:
    """Parse and check a ramp: the first step is 0, steps strictly increase, sizes are positive.
    Errors are ``ValueError`` naming ``option`` (e.g. ``--batch-ramp``)."""
    pairs = _ramp_pairs(spec, option)
    if not pairs:
        raise ValueError(f"{option}: empty ramp (expected e.g. '0:8,100:16')")
    points = tuple((_as_int(s, option, "step"), _as_int(v, option, "size")) for s, v in pairs)
    if points[0][0] != 0:
        raise ValueError(f"{option}: the first entry must be at step 0, not {points[0][0]}")
    for (s0, _), (s1, _) in itertools.pairwise(points):
        if s1 <= s0:
            raise ValueError(f"{option}: steps must increase strictly ({s0} then {s1})")
    for s, v in points:
        if v <= 0:
            raise ValueError(f"{option}: size {v} at step {s} must be positive")
    return Ramp(points)
