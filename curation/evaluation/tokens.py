"""Token-level precision, recall and F1 of extracted text against a ground truth.

The ScrapingHub article-extraction benchmark scores this way: both texts are split into word
tokens (Unicode word characters), and overlap is counted as a multiset intersection.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())


def precision_recall_f1(predicted: str | None, truth: str | None) -> tuple[float, float, float]:
    p, t = Counter(tokens(predicted)), Counter(tokens(truth))
    if not p and not t:
        return 1.0, 1.0, 1.0
    if not p or not t:
        return 0.0, 0.0, 0.0
    overlap = sum((p & t).values())
    precision = overlap / sum(p.values())
    recall = overlap / sum(t.values())
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1
