"""Helpers of the evaluate tests (importable: conftest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path


def tiny_options(out: Path, arms, eval_files, **kw):
    from curation.evaluation.evaluate import Options

    base = dict(arms=list(arms), evals=[f"{k}={v}" for k, v in eval_files.items()], tokens=2048, seeds=1,
                flavour="tiny", seq_len=64, batch=4, out=str(out), cpu_threads=1)
    base.update(kw)
    return Options(**base)
