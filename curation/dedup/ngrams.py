"""Word n-grams: the project's one definition, shared by the ``decontaminate`` stage, the reference
LM's held-out check and ``curate evaluate``'s contamination measure.

Words are the deduplication stages' tokens (``curation.dedup.text.tokens``: NFKC, lowercase,
punctuation folded; one token per character in scripts written without spaces), hashed to 64 bits,
and every run of ``n`` consecutive words of a text is one n-gram (13 by default: GPT-3, Brown et al.
2020, Appendix C, and the Llama 3 report's decontamination use 13-grams / long n-grams). Texts
shorter than ``n`` words give none.
"""

from __future__ import annotations

import numpy as np

from curation.dedup.text import shingles, tokens

NGRAM = 13


def doc_ngrams(texts, n: int = NGRAM) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word n-gram of every text, in order: (hashes uint64, text index int64).

    ``texts``: a list of strings or an Arrow string array (nulls are empty)."""
    if len(texts) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    h, off = tokens(texts)
    grams, doc = shingles(h, off, n)
    long_enough = np.diff(off) >= n
    keep = long_enough[doc]
    return grams[keep], doc[keep]


def ngrams(texts: list[str], n: int = NGRAM) -> np.ndarray:
    """Distinct hashes of the word n-grams of ``texts`` (sorted uint64)."""
    return np.unique(doc_ngrams(texts, n)[0])


def overlap(eval_grams: np.ndarray, train_grams: np.ndarray) -> float:
    """Share of ``eval_grams`` present in ``train_grams`` (0.0 when the eval set has none)."""
    if len(eval_grams) == 0:
        return 0.0
    return float(np.isin(eval_grams, train_grams, assume_unique=True).mean())
