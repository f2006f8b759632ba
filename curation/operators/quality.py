"""quality: model-based quality scores (Llama 3, Section 3.1.1), map stage with models.

Columns added (float32): ``quality_fasttext`` (fastText p(text is like what Wikipedia references)),
``quality_roberta`` (the RoBERTa-architecture scorer's regression output, distilled from a teacher),
and ``quality`` (the mean of the enabled scores, each clipped to [0, 1]), which ``mix`` ranks the
annealing set by. Models load once per worker in ``setup()`` from ``models`` (default: models/ at
the repository root); missing ones are trained there on first use from the bundled data
(``auto_train``), the same as ``curate train-classifiers --if-missing``.

Nothing is rejected unless ``min_quality`` is set (reason ``low_quality``): by default the scores
rank documents for the annealing set, and a filter threshold is the user's call - the bundled
models are small and the domains differ (math word problems do not look like Wikipedia).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation import schema
from curation.operators.base import Params
from curation.operators.filter import Decision, Filter


class QualityParams(Params):
    #: models folder (default: $CURATION_MODELS or models/ at the repository root)
    models: str | None = None
    fasttext: bool = True
    roberta: bool = True
    #: a local Hugging Face checkpoint folder to score with instead of <models>/quality_roberta
    roberta_path: str | None = None
    #: tokens per document seen by the scorer (DistilRoBERTa's limit is 512); the head of the text
    max_tokens: int = Field(256, gt=0, le=512)
    batch_size: int = Field(32, gt=0)
    #: "cpu", "cuda", or None for a GPU when one is present
    device: str | None = None
    #: reject documents whose ``quality`` is below this (None: keep all, scores only)
    min_quality: float | None = Field(None, ge=0.0, le=1.0)
    #: train missing default models on first use (off: a missing model is an error)
    auto_train: bool = True


class Quality(Filter):
    name = "quality"
    Params = QualityParams
    uses_model = True
    num_gpus = 1  # the RoBERTa-architecture scorer: on a GPU when the cluster has one (``device``)

    @property
    def provides(self) -> tuple[str, ...]:
        p: QualityParams = self.params
        return tuple(c for c, on in (("quality_fasttext", p.fasttext), ("quality_roberta", p.roberta)) if on) + ("quality",)

    def setup(self) -> None:
        from curation.classifiers import models_dir as md

        p: QualityParams = self.params
        if not (p.fasttext or p.roberta):
            raise ValueError("quality: enable at least one of fasttext, roberta")
        need = tuple(w for w, on in (("quality_fasttext", p.fasttext), ("quality_roberta", p.roberta and not p.roberta_path)) if on)
        root = md.resolve(p.models)
        if p.auto_train:
            md.ensure(root, need)
        missing = [w for w in need if not md.present(root)[w]]
        if missing:
            raise FileNotFoundError(f"quality: models missing in {root}: {', '.join(missing)} "
                                    f"(run: curate train-classifiers --models {root})")
        self.ft = self.rb = None
        if p.fasttext:
            from curation.classifiers.quality_fasttext import FastTextQuality

            self.ft = FastTextQuality(root / md.QUALITY_FASTTEXT)
        if p.roberta:
            from curation.classifiers.roberta import RobertaScorer

            self.rb = RobertaScorer(Path(p.roberta_path) if p.roberta_path else root / md.QUALITY_ROBERTA,
                                    max_tokens=p.max_tokens, batch_size=p.batch_size, device=p.device)

    def decide(self, table: pa.Table) -> Decision:
        texts = [t or "" for t in table.column(schema.TEXT).to_pylist()]
        parts, columns = [], {}
        if self.ft is not None:
            s = self.ft.score(texts)
            columns["quality_fasttext"] = pa.array(s, pa.float32())
            parts.append(np.clip(s, 0, 1))
        if self.rb is not None:
            s = self.rb.score(texts)
            columns["quality_roberta"] = pa.array(s, pa.float32())
            parts.append(np.clip(s, 0, 1))
        q = np.mean(parts, axis=0).astype(np.float32) if texts else np.zeros(0, np.float32)
        columns["quality"] = pa.array(q, pa.float32())
        p: QualityParams = self.params
        if p.min_quality is None:  # a scorer only: every row kept
            return Decision([None] * len(texts), None, columns)
        low = q < p.min_quality
        details = [f"quality {v:.3f} < {p.min_quality}" if l else None for v, l in zip(q, low)]
        return Decision(np.where(low, "low_quality", None), details, columns)
