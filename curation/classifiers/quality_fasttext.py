"""fastText quality classifier: "is this text like what Wikipedia references?" (Llama 3, 3.1.1).

Positives (``hq``): reference-quality text, by default the bundled WikiText-2 sections and the
article bodies of the scrapinghub extraction benchmark. Negatives (``lq``): random web text after
extraction (the bundled WARC pages, trafilatura's unannotated and evaluation pages, CCNet text).
A user points it at their own files with ``--positives`` / ``--negatives``.

Recipe ``reference`` (``QualityFastTextConfig.recipe``, issue 24): the positives are the reference
language model's reference text (``reference_text.reference_texts``: the ``hq`` rows plus the bundled
code, math and multilingual prose, so that code, math and non-English prose are not "low quality"
by construction), the negatives the same random web pages. Either way no row shares a word 13-gram
with ``curate evaluate``'s default eval suite (``common.without_eval``).

Held-out: one group in five (a group is one article or page), by a seeded hash, never trained on.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from curation.classifiers import fasttext_util
from curation.classifiers.common import AtomicDir, binary_metrics, bundled, ft_line, is_test, read_jsonl, read_texts, without_eval, write_json

MODEL_DIR = "quality_fasttext"
MODEL_FILE = "model.bin"
LABEL = "hq"


class QualityFastTextConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # fastText supervised defaults from the fastText text-classification tutorial (lr 0.1-1.0,
    # epoch 5-50, wordNgrams 2 for bigrams); dim and bucket kept small so the model is ~13 MB.
    lr: float = 0.5
    epoch: int = 25
    wordNgrams: int = 2
    dim: int = 32
    bucket: int = 100_000
    minCount: int = 1
    seed: int = 0
    test_fraction: float = 0.2
    max_chars: int = 4000
    #: bundled data: "wikipedia" (hq rows vs lq rows) or "reference" (module docstring)
    recipe: str = "wikipedia"


def load_examples(positives: list[str] | None = None, negatives: list[str] | None = None,
                  recipe: str = "wikipedia") -> list[dict]:
    """Rows {id, label, text, group}: the bundled set (``recipe``), or the user's files when given."""
    if not positives and not negatives:
        rows = without_eval(read_jsonl(bundled("quality.jsonl.gz")))
        if recipe == "wikipedia":
            return rows
        if recipe != "reference":
            raise ValueError(f"quality_fasttext: unknown recipe {recipe!r} (wikipedia, reference)")
        from curation.classifiers.reference_text import reference_texts

        hq = [{"id": r["id"], "label": "hq", "text": r["text"], "group": r["group"]} for r in reference_texts()]
        return hq + [r for r in rows if r["label"] == "lq"]
    if not (positives and negatives):
        raise ValueError("give both --positives and --negatives (or neither, for the bundled data)")
    rows = []
    for label, files in (("hq", positives), ("lq", negatives)):
        for f in files:
            for i, t in enumerate(read_texts(f)):
                rows.append({"id": f"{Path(f).name}:{i}", "label": label, "text": t, "group": f"{f}:{i}"})
    return rows


def train(out_dir: Path, cfg: QualityFastTextConfig | None = None, positives=None, negatives=None) -> dict:
    cfg = cfg or QualityFastTextConfig()
    rows = load_examples(positives, negatives, cfg.recipe)
    train_rows = [r for r in rows if not is_test(r["group"], cfg.seed, cfg.test_fraction)]
    test_rows = [r for r in rows if is_test(r["group"], cfg.seed, cfg.test_fraction)]
    t0 = time.perf_counter()
    final = Path(out_dir) / MODEL_DIR
    params = cfg.model_dump(exclude={"test_fraction", "max_chars", "recipe"})
    with AtomicDir(final) as tmp:
        model = fasttext_util.train_supervised(
            [ft_line(r["text"], cfg.max_chars) for r in train_rows], [r["label"] for r in train_rows],
            tmp / MODEL_FILE, **params)
        seconds = time.perf_counter() - t0
        scores = fasttext_util.predict_proba(model, [r["text"] for r in test_rows], LABEL, cfg.max_chars)
        labels = np.array([r["label"] == LABEL for r in test_rows])
        card = {
            "model": "fasttext quality (hq vs lq)",
            "data": "user files" if positives else f"bundled curation/data/classifiers ({cfg.recipe} recipe, eval suite 13-grams excluded)",
            "train": {"hq": sum(r["label"] == "hq" for r in train_rows), "lq": sum(r["label"] == "lq" for r in train_rows)},
            "held_out": binary_metrics(labels, scores),
            "config": cfg.model_dump(),
            "train_seconds": round(seconds, 2),
        }
        write_json(tmp / "card.json", card)
    return card


class FastTextQuality:
    """p(hq) for a batch of texts."""

    def __init__(self, path: str | Path, max_chars: int = 4000):
        p = Path(path)
        self.model = fasttext_util.load(p / MODEL_FILE if p.is_dir() else p)
        self.max_chars = max_chars

    def score(self, texts: list[str]) -> np.ndarray:
        return fasttext_util.predict_proba(self.model, texts, LABEL, self.max_chars)
