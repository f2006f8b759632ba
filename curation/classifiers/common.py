"""Shared helpers: bundled data, deterministic splits, text normalisation, metrics, atomic folders."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Iterable

import numpy as np

from curation.hashing import hash64

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "classifiers"
_WS = re.compile(r"\s+")


def bundled(name: str) -> Path:
    return DATA_DIR / name


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    p = Path(path)
    opener = gzip.open if p.name.endswith(".gz") else open
    with opener(p, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_texts(path: str | os.PathLike, column: str = "text") -> list[str]:
    """Texts of a user file: .txt (one document per line), .jsonl(.gz) or .parquet with ``column``."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    name = p.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        t = pq.read_table(p, columns=[column])
        return [x for x in t.column(column).to_pylist() if x]
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        return [r[column] for r in read_jsonl(p) if r.get(column)]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(p, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def without_eval(rows: list[dict]) -> list[dict]:
    """``rows`` minus every one whose ``text`` shares a word 13-gram with ``curate evaluate``'s default
    eval suite (``curation/data/eval``), so that no scorer trains on the held-out sets. The bundled
    classifier data holds them: WikiText-2 test sections (93% of the prose set's 13-grams), article
    bodies of the news set (48%), HumanEval 100-129 (98% of the code set's) and UDHR versions of the
    multilingual set (69%), measured with ``curation.evaluation.contamination`` (issue 24)."""
    from curation.dedup import ngrams as cont  # the one n-gram definition
    from curation.io import eval_suite

    held = cont.ngrams([t for texts in eval_suite.texts().values() for t in texts])
    grams, doc = cont.doc_ngrams([r["text"] for r in rows])
    hit = np.zeros(len(rows), dtype=bool)
    hit[doc[np.isin(grams, held)]] = True
    return [r for r, h in zip(rows, hit) if not h]


def stable_hash(s: str, seed: int = 0) -> int:
    return hash64(s, str(seed))


def is_test(group: str, seed: int = 0, fraction: float = 0.2) -> bool:
    """Deterministic held-out split by group (pieces of one document never straddle it)."""
    return (stable_hash(group, seed) % 10_000) < fraction * 10_000


def ft_line(text: str, max_chars: int = 4000) -> str:
    """One fastText input line: lower-cased, whitespace collapsed, bounded length."""
    return _WS.sub(" ", (text or "")[:max_chars].lower()).strip()


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_metrics(labels, scores, threshold: float = 0.5) -> dict:
    labels = np.asarray(labels, dtype=bool)
    pred = np.asarray(scores) >= threshold
    tp = int((pred & labels).sum())
    fp = int((pred & ~labels).sum())
    fn = int((~pred & labels).sum())
    return {
        "n": int(len(labels)),
        "positives": int(labels.sum()),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "accuracy": round(float((pred == labels).mean()), 4) if len(labels) else 0.0,
        "auc": round(auc(labels, scores), 4),
        "threshold": threshold,
    }


class AtomicDir:
    """Write a model folder under a temporary name and rename it into place when complete."""

    def __init__(self, final: str | os.PathLike):
        self.final = Path(final)
        self.tmp = self.final.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{self.final.name}")

    def __enter__(self) -> Path:
        self.tmp.mkdir(parents=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        if self.final.exists():
            old = self.final.with_name(f".old-{uuid.uuid4().hex[:8]}-{self.final.name}")
            os.replace(self.final, old)
            os.replace(self.tmp, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.final)
        return False


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def batched(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
