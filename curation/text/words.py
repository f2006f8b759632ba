"""Word splitting for filters, one document at a time or a whole Arrow column at once.

A *word* is a maximal run of letters, digits and combining marks (``\\p{L}\\p{N}\\p{M}``), so
punctuation and symbols separate words and never count as words. Scripts written without spaces
are split further, so that a Chinese page is not one word:

* Han, Hiragana and Katakana: every character is a word. Chinese words average about 1.5
  characters and Japanese mixes scripts, so per-character counts are the usual dictionary-free
  approximation (CCNet and the Gopher rules both need *some* count; a dictionary segmenter such as
  jieba would be slower and language-specific).
* Thai: a run is cut before each leading vowel (U+0E40..U+0E44: เ แ โ ใ ไ), which always starts a
  syllable. That yields syllable-sized pieces (Thai words average about 1.5 syllables) without a
  dictionary; Lao, Khmer and Myanmar runs are kept whole (rare on the web, documented limitation).
* Hangul is written with spaces and needs nothing special.

Words are lower-cased (``str.lower`` / Arrow ``utf8_lower``). The vectorized form,
:func:`split_words_column`, does the same with Arrow's RE2 kernels over a whole column: it returns
the flat array of words and the per-document offsets, the shape numpy code wants.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex

# RE2 (Arrow) and `regex` (Python) spellings of the same patterns.
_CJK_RE2 = r"([\p{Han}\p{Hiragana}\p{Katakana}])"
_THAI_LEAD_RE2 = r"([\x{0E40}-\x{0E44}])"
_SEP_RE2 = r"[^\p{L}\p{N}\p{M}]+"

_CJK_PY = regex.compile(r"([\p{Han}\p{Hiragana}\p{Katakana}])")
_THAI_LEAD_PY = regex.compile(r"([\u0E40-\u0E44])")
_WORD_PY = regex.compile(r"[\p{L}\p{N}\p{M}]+")

#: Scripts counted as "no spaces between words" (used to relax word-length rules).
NO_SPACE_RE2 = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"


def split_words(text: str | None) -> list[str]:
    """The lower-cased words of one text (see the module docstring)."""
    if not text:
        return []
    # "İ".lower() is two code points in Python; Arrow's utf8_lower (used by the column form) maps it
    # to "i", so do the same here
    t = _CJK_PY.sub(r" \1 ", text.replace("İ", "i").lower())
    t = _THAI_LEAD_PY.sub(r" \1", t)
    return _WORD_PY.findall(t)


def _prepare(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if not pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.large_string())
    texts = pc.fill_null(texts, "")
    t = pc.utf8_lower(texts)
    if pc.any(pc.match_substring_regex(t, NO_SPACE_RE2)).as_py():
        t = pc.replace_substring_regex(t, _CJK_RE2, r" \1 ")
        t = pc.replace_substring_regex(t, _THAI_LEAD_RE2, r" \1")
    return t


def split_words_column(texts: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Split a column of texts into words at once.

    Returns ``(words, offsets)``: ``words`` is a flat large_string array of every document's words
    in order, and document ``i`` owns ``words[offsets[i]:offsets[i + 1]]`` (``len(offsets)`` is
    the number of documents + 1). Nulls count as empty texts.
    """
    t = _prepare(texts)
    lists = pc.split_pattern_regex(t, _SEP_RE2)
    flat = lists.flatten()
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    # separators at either end leave empty strings: drop them and recompute offsets
    nonempty = pc.greater(pc.binary_length(flat), 0).to_numpy(zero_copy_only=False)
    doc_of = np.repeat(np.arange(len(lengths)), lengths)
    keep_doc = doc_of[nonempty]
    counts = np.bincount(keep_doc, minlength=len(lengths))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return flat.filter(pa.array(nonempty)), offsets


def word_counts(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Number of words of each text (int64): the count every stage that counts words uses
    (heuristics' and line_dedup's ``min_words``)."""
    return np.diff(split_words_column(texts)[1])
