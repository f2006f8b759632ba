"""language: language identification with CLD2 (Compact Language Detector 2, via ``pycld2``).

CLD2's model is compiled into the ``pycld2`` wheel (Apache-2.0), so nothing is downloaded at run
time. It was chosen by ``bench/langid.py``: on the 522 UDHR translations with a known code it was
both the most accurate candidate on the languages every candidate supports and the fastest per
core (about 3x fastText lid.176 at 2,000 characters, 40x lingua); table and command in
``docs/filters.md``. The Llama 3 report uses a fastText language classifier (Section 3.1.1); set
``engine: fasttext`` with ``model_path`` to a local ``lid.176.bin``/``.ftz`` to reproduce that.

Per document the first ``max_chars`` characters (control characters and lone surrogates removed)
go to the model. Columns:

* ``lang`` (string): the primary language code, ISO 639-1 where one exists (``en``, ``zh``;
  CLD2's ``iw``/``jw`` become ``he``/``jv``, ``zh-Hant`` becomes ``zh``), else the model's code
  (``ceb``, ``haw``); no detectable language, or a score below ``und_below`` (0.3), gives ``und``.
* ``lang_score`` (float32, 0..1): CLD2: the share of the text's bytes assigned to that language,
  halved when CLD2 itself flags the result unreliable; fastText: the label's probability.

Reject reasons: ``language_not_allowed`` (``languages`` is set and ``lang`` is not in it) and
``low_language_score`` (``lang_score`` below the threshold for that language). By default every
language is kept (non-English text feeds the multilingual part of the mix) and nothing is dropped
on score; datatrove's ``LanguageFilter`` defaults to 0.65 and CCNet to 0.5: set ``min_score`` to
follow them.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from curation import schema
from pydantic import Field

from curation.operators.base import Params
from curation.operators.filter import Decision, Filter

_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ALIASES = {"iw": "he", "jw": "jv", "in": "id", "mo": "ro"}


def normalize_code(code: str | None) -> str:
    """Model output -> ``lang`` code: primary subtag, legacy aliases fixed, unknown -> ``und``."""
    if not code:
        return "und"
    c = code.split("-")[0].lower()
    if c in ("un", "xx", "xxx", "und", "zzb", "zze", "zzh", "zzp"):
        return "und"
    return _ALIASES.get(c, c)


def cld2_detect(text: str) -> tuple[str, float]:
    """(code, score) of one text with CLD2; see the module docstring for the score."""
    import pycld2

    text = _CONTROL.sub(" ", text)
    try:
        reliable, _, details = pycld2.detect(text)
    except pycld2.error:
        return "und", 0.0
    code = normalize_code(details[0][1])
    if code == "und":
        return code, 0.0
    score = details[0][2] / 100.0
    return code, score if reliable else score / 2


def load_fasttext(path: str | Path):
    """Load a fastText model once per process (quietly: fastText warns on stderr)."""
    key = str(path)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            import fasttext

            if hasattr(fasttext, "FastText"):
                fasttext.FastText.eprint = lambda *a, **k: None  # silence the load_model warning
            model = fasttext.load_model(key)
            _MODELS[key] = model
    return model


class LanguageParams(Params):
    #: cld2 (bundled in pycld2, the default: see bench/langid.py) or fasttext (needs model_path).
    engine: Literal["cld2", "fasttext"] = "cld2"
    #: Languages to keep (model codes, e.g. ``[en, de, zh]``); empty keeps every language.
    languages: list[str] = []
    #: Minimum ``lang_score`` to keep a document (0 keeps all). datatrove and FineWeb use 0.65,
    #: CCNet 0.5 (Wenzek et al. 2020, Section 3.3).
    min_score: float = 0.0
    #: Per-language overrides of ``min_score``, e.g. ``{en: 0.65}``.
    min_score_by_lang: dict[str, float] = {}
    #: Characters of each document given to the model (the start of the page is enough; longer
    #: texts change the answer little and cost time linearly).
    max_chars: int = 2000
    #: Path of a local fastText language-ID model (engine fasttext only), e.g. lid.176.bin.
    model_path: str = ""
    #: An identification with a lower score is not trusted: ``lang`` becomes ``und`` (the score is
    #: kept). Ours, measured with CLD2: 29 of 528 UDHR translations got a known language with a
    #: score under 0.3, mostly languages CLD2 does not model (Krio read as English at 0.06, Q'eqchi'
    #: 0.05), while 175 of 176 English news, Wikipedia, GSM8K and code texts scored 0.92-1.0
    #: (docs/quality.md). 0 trusts every answer.
    und_below: float = Field(0.3, ge=0.0, le=1.0)


class Language(Filter):
    name = "language"
    provides = ("lang", "lang_score")
    Params = LanguageParams

    def setup(self) -> None:
        p: LanguageParams = self.params
        if p.engine == "fasttext":
            if not p.model_path or not Path(p.model_path).is_file():
                raise FileNotFoundError(f"language: engine fasttext needs model_path to a local model file, "
                                        f"got {p.model_path!r}")
            self.model = load_fasttext(p.model_path)
        else:
            import pycld2  # noqa: F401  (fail at setup, not on the first batch)
            self.model = None

    def supported_languages(self) -> set[str]:
        if self.params.engine == "fasttext":
            return {normalize_code(x[9:]) for x in self.model.get_labels()}
        import pycld2

        return {normalize_code(c) for _, c in pycld2.LANGUAGES} - {"und"}

    def identify(self, texts: list[str | None]) -> tuple[list[str], np.ndarray]:
        """Return (codes, scores) for a list of texts (after ``setup()``)."""
        n = self.params.max_chars
        if self.params.engine == "cld2":
            codes, scores = ["und"] * len(texts), np.zeros(len(texts), dtype=np.float32)
            for i, t in enumerate(texts):
                if t:
                    codes[i], scores[i] = cld2_detect(t[:n])
            return codes, scores
        lines, idx = [], []
        for i, t in enumerate(texts):
            if t:
                line = " ".join(t[:n].split())
                if line:
                    lines.append(line)
                    idx.append(i)
        codes = ["und"] * len(texts)
        scores = np.zeros(len(texts), dtype=np.float32)
        if lines:
            labels, probs = self.model.predict(lines, k=1)
            for j, i in enumerate(idx):
                codes[i] = normalize_code(labels[j][0][9:])  # strip "__label__"
                scores[i] = min(float(probs[j][0]), 1.0)
        return codes, scores

    def decide(self, table: pa.Table) -> Decision:
        p: LanguageParams = self.params
        codes, scores = self.identify(table.column(schema.TEXT).to_pylist())
        codes = [c if s >= p.und_below else "und" for c, s in zip(codes, scores)]
        allowed = set(p.languages)
        reasons: list[str | None] = [None] * len(codes)
        details: list[str | None] = [None] * len(codes)
        for i, (c, s) in enumerate(zip(codes, scores)):
            if allowed and c not in allowed:
                reasons[i], details[i] = "language_not_allowed", f"{c} ({s:.2f})"
                continue
            thr = p.min_score_by_lang.get(c, p.min_score)
            if s < thr:
                reasons[i], details[i] = "low_language_score", f"{c} {s:.3f} < {thr}"
        return Decision(reasons, details, {"lang": pa.array(codes, pa.string()),
                                           "lang_score": pa.array(scores, pa.float32())})
