"""Contamination: the share of an eval set's 13-grams found in an arm's training text.

The n-grams are the project's one definition (:mod:`curation.dedup.ngrams`); the share is over the
eval set's *distinct* n-grams (``curation.dedup.ngrams.overlap``); ``WARN_SHARE`` flags a set.
"""

from __future__ import annotations

#: an eval set with more than this share of its 13-grams in an arm's training text gets a warning (ours:
#: natural text shares almost no 13-grams by chance, so 1% means copied passages)
WARN_SHARE = 0.01
