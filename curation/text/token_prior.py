"""Token-frequency prior: how typical a document's words are of its own group (domain) in the corpus.

Seo et al. 2025, "Prior-based Noisy Text Data Filtering: Fast and Strong Alternative For Perplexity"
(arXiv 2509.18577), score a document by the mean log prior of its tokens, the prior being the
token's frequency over the whole corpus: a cheap stand-in for a reference model's perplexity
(CCNet; "perplexity correlations", arXiv 2409.05816) that needs no model and no reference text.
Here the prior is taken per *group* (the ``domain`` column in the pipeline), so code is typical of
code and German web pages of the multilingual domain, and over the corpus itself rather than a
bundled reference (whose multilingual part is UDHR translations: issue 24).

Tokens are the words of :mod:`curation.text.words` (lower-cased; CJK one character a word), not
BPE ids: a BPE trained on other text merges that text's words and so makes it look frequent.
Each ``(group, word)`` is hashed into ``B = 2**buckets_log2`` buckets (as ``kl_filter`` does), so
the corpus table is B counts whatever the corpus size, and it is additive over shards.

The score of document ``d`` in group ``g`` with ``n_d`` words, ``c_d(w)`` of them ``w``:

    prior(d) = 1/n_d * sum_{w in d} ln( (C_g(w) - c_d(w) + 1) / (N_g - n_d + B) )

with ``C_g``/``N_g`` the group's word counts and total over the corpus. The document's own words
are taken out (leave-one-out): in a small group a long document would otherwise be typical of
itself, and a language with one document would look as typical as the group's main language.
Add-one smoothing over the B buckets keeps every log finite. Higher: more typical of the group.
A document with no words gets NaN (no score; ranked last by ``quality_select`` and the halves).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.hashing import U64, hash64, splitmix64
from curation.text.words import split_words_column

#: 2**20 buckets (about a million), kl_filter's default: collisions merge rare words only
BUCKETS_LOG2 = 20


def group_buckets(texts: pa.Array | pa.ChunkedArray, groups: list[str],
                  buckets_log2: int = BUCKETS_LOG2) -> tuple[np.ndarray, np.ndarray]:
    """(bucket of each word's ``(group, word)``, document index of each word), in text order."""
    import pyarrow.compute as pc

    n = len(groups)
    words, offsets = split_words_column(texts)
    doc_of = np.repeat(np.arange(n), np.diff(np.asarray(offsets)))
    if not len(words):
        return np.zeros(0, np.int64), doc_of
    enc = pc.dictionary_encode(words)
    ids = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    word_hash = np.array([hash64(w) for w in enc.dictionary.to_pylist()], dtype=U64)
    uniq, g_of = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    group_hash = np.array([hash64("\x00group\x00" + g) for g in uniq], dtype=U64)
    with np.errstate(over="ignore"):
        h = splitmix64(word_hash[ids] ^ group_hash[g_of[doc_of]])
    return (h % U64(1 << buckets_log2)).astype(np.int64), doc_of


def scores(buckets: np.ndarray, doc_of: np.ndarray, n_docs: int, counts: np.ndarray,
           group_totals: np.ndarray, buckets_log2: int = BUCKETS_LOG2) -> np.ndarray:
    """Leave-one-out mean log prior of each document (module docstring).

    ``counts``: corpus count per bucket (length B, this document included); ``group_totals``: per
    document, its group's corpus word total ``N_g`` (this document included)."""
    B = 1 << buckets_log2
    n_words = np.bincount(doc_of, minlength=n_docs).astype(np.float64)
    out = np.full(n_docs, np.nan)
    if not len(buckets):
        return out
    pair = doc_of.astype(np.int64) * B + buckets
    _, inv, own = np.unique(pair, return_inverse=True, return_counts=True)
    c = np.maximum(counts[buckets] - own[inv], 0.0)
    n = np.maximum(group_totals[doc_of] - n_words[doc_of], 0.0)
    lp = np.log((c + 1.0) / (n + B))
    s = np.bincount(doc_of, weights=lp, minlength=n_docs)
    has = n_words > 0
    out[has] = s[has] / n_words[has]
    return out


def table_scores(texts: pa.Array | pa.ChunkedArray, groups: list[str],
                 buckets_log2: int = BUCKETS_LOG2) -> np.ndarray:
    """The prior of every document with the corpus being these documents (one process: benches, tests)."""
    b, doc_of = group_buckets(texts, groups, buckets_log2)
    n = len(groups)
    counts = np.bincount(b, minlength=1 << buckets_log2).astype(np.float64)
    _, g_of = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    per_doc = np.bincount(doc_of, minlength=n).astype(np.float64)
    totals = np.bincount(g_of, weights=per_doc)[g_of] if n else np.zeros(0)
    return scores(b, doc_of, n, counts, totals, buckets_log2)
