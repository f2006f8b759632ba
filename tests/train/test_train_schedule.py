"""The learning-rate schedule's shape: warm-up, constant or cosine, then a linear anneal to 0."""

from __future__ import annotations

import math

import pytest

from curation.train.config import TrainConfig
from curation.train.schedule import Schedule


def test_warmup_cosine_then_anneal_to_zero():
    s = Schedule(steps=100, peak_lr=1.0, warmup_steps=10, decay="cosine", min_lr_ratio=0.1, anneal_steps=20)
    lrs = [s.lr(i) for i in range(100)]
    # warm-up: linear, strictly increasing, reaching the peak at its last step
    assert lrs[:10] == pytest.approx([(i + 1) / 10 for i in range(10)])
    assert lrs[9] == pytest.approx(1.0)
    # cosine: non-increasing from the peak to peak * min_lr_ratio at the anneal start
    main = lrs[10:80]
    assert all(a >= b for a, b in zip(main, main[1:]))
    assert main[0] == pytest.approx(1.0)
    mid = 10 + 35  # half way through the cosine
    assert lrs[mid] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    lr_a = s._main_lr(80)
    assert lr_a == pytest.approx(0.1)
    # annealing: linear from lr_a to 0; equal decrements; 0 right after the last step
    ann = lrs[80:]
    assert ann[0] == pytest.approx(lr_a)
    diffs = [a - b for a, b in zip(ann, ann[1:])]
    assert diffs == pytest.approx([lr_a / 20] * 19)
    assert ann[-1] == pytest.approx(lr_a / 20)
    assert s.lr(100) == 0.0
    assert [s.phase(i) for i in (0, 79, 80, 99)] == ["main", "main", "anneal", "anneal"]


def test_constant_and_no_anneal():
    s = Schedule(steps=50, peak_lr=3e-4, warmup_steps=5, decay="constant")
    assert [s.lr(i) for i in range(5, 50)] == [3e-4] * 45
    assert {s.phase(i) for i in range(50)} == {"main"}
    s = Schedule(steps=50, peak_lr=3e-4, warmup_steps=5, decay="constant", anneal_steps=10)
    assert s.lr(39) == 3e-4 and s.lr(40) == pytest.approx(3e-4) and s.lr(45) == pytest.approx(3e-4 * 5 / 10)


def test_anneal_steps_from_tokens():
    cfg = TrainConfig(manifest="x", steps=100, seq_len=128, global_batch_size=8, anneal_tokens=10_000)
    assert cfg.anneal_steps() == 10  # ceil(10000 / 1024)
    assert TrainConfig(manifest="x", steps=5, anneal_tokens=10**9).anneal_steps() == 5
    assert TrainConfig(manifest="x").anneal_steps() == 0
    with pytest.raises(ValueError):
        Schedule(steps=10, peak_lr=1.0, decay="linear")
