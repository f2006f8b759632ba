"""Text normalization, tokens, shingles and lines for deduplication, vectorized with Arrow/numpy.

Normalization (shared by MinHash and line dedup): Unicode NFKC, lowercase, every run of
punctuation or symbols (``\\p{P}``, ``\\p{S}``) folded to one space, whitespace folded. Line dedup
additionally maps every digit to ``0`` (CCNet's ``normalize_for_dedup`` does the same) so that a
boilerplate line that differs only by a date or a count is still the same line.

Tokens (the unit of shingles and n-grams; not the filters' *words*, see curation.text.words): words
split on whitespace; in scripts written without spaces (Han, Hiragana, Katakana,
Thai, Lao, Khmer, Myanmar, Tibetan) each character is its own token, so word 5-gram shingles become
character 5-grams there (the usual choice for CJK near-duplicate detection) and still carry
meaning. All of this runs in Arrow's C++ kernels over a whole batch; no Python loop per document.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.hashing import U64, hash_strings, fmix64, string_buffers

PUNCT = r"[\p{P}\p{S}]+"
SPACELESS = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}])"


def _as_large(texts) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if not isinstance(texts, pa.Array):
        texts = pa.array(texts, pa.large_string())
    if pa.types.is_string(texts.type):
        texts = texts.cast(pa.large_string())
    return pc.fill_null(texts, "")


def normalize(texts, digits: bool = False) -> pa.Array:
    """NFKC, lowercase, punctuation and symbols to spaces (and digits to 0 when ``digits``)."""
    t = _as_large(texts)
    t = pc.utf8_lower(pc.utf8_normalize(t, "NFKC"))
    t = pc.replace_substring_regex(t, PUNCT, " ")
    if digits:
        t = pc.replace_substring_regex(t, r"\d", "0")
    return t


def tokens(texts) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of every document: (hashes uint64 flat, offsets int64 of len n+1).

    The text is split on whitespace first; the *distinct* raw tokens of the batch (Arrow's hash
    table) are then normalized, split again where punctuation or a spaceless script separates
    them, and hashed; every occurrence gathers its token's pieces. The string work therefore runs
    over the batch's vocabulary, not over every character of every document."""
    lists = pc.utf8_split_whitespace(_as_large(texts))
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    doc_off = np.asarray(lists.offsets, dtype=np.int64)
    doc_off = doc_off - doc_off[0]
    enc = pc.dictionary_encode(lists.flatten())
    idx = np.asarray(enc.indices, dtype=np.int64)
    # pieces of each distinct raw token after normalization
    norm = pc.utf8_trim_whitespace(pc.replace_substring_regex(normalize(enc.dictionary), SPACELESS, r" \1 "))
    pieces = pc.utf8_split_whitespace(norm)
    p_off = np.asarray(pieces.offsets, dtype=np.int64)
    p_off = p_off - p_off[0]
    p_vals = pieces.flatten()
    p_hash = hash_strings(p_vals)
    p_empty = np.diff(string_buffers(p_vals)[0]) == 0  # "" splits into [""]
    if p_empty.any():
        owner = np.repeat(np.arange(len(p_off) - 1), np.diff(p_off))
        p_off = np.r_[0, np.cumsum(np.bincount(owner[~p_empty], minlength=len(p_off) - 1))].astype(np.int64)
        p_hash = p_hash[~p_empty]
    count = np.diff(p_off)[idx]  # pieces per occurrence
    total = int(count.sum())
    occ_start = np.cumsum(count) - count
    gather = np.repeat(p_off[:-1][idx] - occ_start, count) + np.arange(total)
    hashes = p_hash[gather]
    csum = np.r_[0, np.cumsum(count)]
    return hashes, csum[doc_off].astype(np.int64)


# Odd multipliers, one per position inside an n-gram (fixed: shingles must be stable).
_POS = fmix64(np.arange(1, 65, dtype=U64)) | U64(1)


def shingles(token_hashes: np.ndarray, offsets: np.ndarray, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the token n-grams of each document: (shingles uint64 flat, doc index per shingle).

    A document with fewer than ``n`` (but some) tokens gives one shingle of all its tokens, so short
    exact duplicates are still found; a document without tokens gives none.
    """
    if n < 1 or n > len(_POS):
        raise ValueError(f"ngram must be in 1..{len(_POS)}")
    n_docs = len(offsets) - 1
    total = len(token_hashes)
    if total == 0:
        return np.zeros(0, U64), np.zeros(0, np.int64)
    lengths = np.diff(offsets)
    doc = np.repeat(np.arange(n_docs), lengths)
    pos = np.arange(total)
    # shingle starts: every position with n tokens of its document ahead; one per short document
    full = pos + n <= offsets[1:][doc]
    short = lengths < n
    starts_full = pos[full]
    starts_short = offsets[:-1][short & (lengths > 0)]
    starts = np.sort(np.concatenate([starts_full, starts_short])) if len(starts_short) else starts_full
    width = np.minimum(offsets[1:][doc[starts]] - starts, n)
    padded = np.concatenate([token_hashes, np.zeros(n, U64)])
    with np.errstate(over="ignore"):
        acc = width.astype(U64) * _POS[n]
        for i in range(n):
            term = padded[starts + i] * _POS[i]
            if i:
                term[width <= i] = 0  # short documents: nothing past their last token
            acc += term
    return fmix64(acc), doc[starts]


def split_lines(texts) -> pa.ListArray:
    """Each document's lines (split on ``\\n``; a trailing ``\\r`` stays with the line)."""
    lists = pc.split_pattern(_as_large(texts), "\n")
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    return lists


def line_hashes(lines: pa.ListArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a list array of lines: (hash of each normalized line, doc index per line, is_blank).

    A line is blank when nothing but punctuation, symbols or spaces is left after normalization;
    blank lines are never counted nor removed."""
    values = lines.flatten()
    # boilerplate lines repeat: normalize and hash each distinct line of the batch once
    enc = pc.dictionary_encode(values)
    idx = np.asarray(enc.indices, dtype=np.int64)
    norm = pc.utf8_trim_whitespace(pc.replace_substring_regex(normalize(enc.dictionary, digits=True), r"\s+", " "))
    offs, _ = string_buffers(norm)
    blank = (np.diff(offs) == 0)[idx]
    lo = np.asarray(lines.offsets, dtype=np.int64)
    lo = lo - lo[0]
    doc = np.repeat(np.arange(len(lines)), np.diff(lo))
    return hash_strings(norm)[idx], doc, blank
