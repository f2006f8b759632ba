"""Deterministic fastText training and batch prediction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from curation.classifiers.common import ft_line


def train_supervised(lines: list[str], labels: list[str], out: Path, **params):
    """Train on (label, text) pairs, save to ``out`` and return the loaded model. ``thread=1`` and a
    fixed ``seed`` make the model bytes identical from run to run (fastText's Hogwild updates are only
    racy with threads > 1). Training runs in a child process: with the fasttext-numpy2 wheel, a second
    training in one process can diverge ("Encountered NaN") where the same training alone does not."""
    params = {"thread": 1, "seed": 0, "verbose": 0, **params}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for label, text in zip(labels, lines):
            f.write(f"__label__{label} {text}\n")
        path = f.name
    try:
        proc = subprocess.run([sys.executable, "-m", "curation.classifiers.fasttext_util", path, str(out),
                               json.dumps(params)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"fastText training failed: {proc.stderr.strip()[-2000:]}")
    finally:
        os.unlink(path)
    return load(out)


def _train_main(argv: list[str]) -> int:
    import fasttext

    path, out, params = argv
    fasttext.train_supervised(input=path, **json.loads(params)).save_model(out)
    return 0


def load(path: str | os.PathLike):
    import fasttext

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"fastText model not found: {p}")
    return fasttext.load_model(str(p))


def predict_proba(model, texts: list[str], label: str, max_chars: int = 4000) -> np.ndarray:
    """Probability of ``label`` for each text (float32)."""
    if not texts:
        return np.zeros(0, np.float32)
    lines = [ft_line(t, max_chars) for t in texts]
    labels, probs = model.predict(lines, k=-1)
    want = f"__label__{label}"
    out = np.zeros(len(lines), np.float32)
    for i, (ls, ps) in enumerate(zip(labels, probs)):
        for lab, p in zip(ls, ps):
            if lab == want:
                out[i] = min(1.0, float(p))
                break
    return out


def predict_top(model, texts: list[str], max_chars: int = 4000) -> tuple[list[str], np.ndarray]:
    """Most likely label (without the __label__ prefix) and its probability."""
    if not texts:
        return [], np.zeros(0, np.float32)
    labels, probs = model.predict([ft_line(t, max_chars) for t in texts], k=1)
    names = [ls[0].removeprefix("__label__") if ls else "" for ls in labels]
    scores = np.array([min(1.0, float(ps[0])) if len(ps) else 0.0 for ps in probs], np.float32)
    return names, scores


if __name__ == "__main__":
    raise SystemExit(_train_main(sys.argv[1:]))
