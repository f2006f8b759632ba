"""Fluency signals: is this text written language, or junk that only looks like it?

Four per-document measures, each computed for a whole batch at once from the words of
:mod:`curation.text.words` (lower-cased; CJK one character a word). None needs a download:

* :func:`known_word_frac` - the share of a document's words (digits-only words left out) that are
  in the word list of its language, from the ``wordfreq`` package (Speer 2022: frequencies from
  Wikipedia, subtitles, news, books, web text and more, for about 40 languages; Apache-2.0 code,
  CC BY-SA 4.0 data, shipped inside the wheel). Random letter strings, mojibake and machine
  output are mostly unknown words. NaN when the language has no list or is written without
  spaces (wordfreq segments those with jieba/MeCab, which we do not ship). A document written
  mostly in Han / kana whose language has no list (``und``: the language stage could not name it)
  is looked up in the characters of Chinese and Japanese.
* :func:`pair_recurrence` - ``(repeated word pairs + 1) / (repeated words + 1)`` over the first
  ``max_words`` words, where "repeated" counts every occurrence after the first. In written
  language a word that comes back tends to come back with the same neighbour ("the server",
  "of the", a name, a phrase), because of syntax and because a text stays on its topic. Word salad
  (words drawn independently, even at their real frequencies) and Markov-chain text stitched
  from a large source repeat words without repeating their pairs. The measure needs no reference
  text and works in any language; it is undefined on short texts (``min_words``).
* :func:`unique_word_frac` - distinct words / words over the first ``ttr_words`` words (the
  type-token ratio). Every language reuses its function words (Zipf's law); strings of random
  tokens do not.
* :func:`content_recurrence` - the share of a document's content words (words of at least
  ``min_chars`` characters, cut to ``prefix_chars``, among its first ``limit`` words) that repeat
  an earlier one. A text about something names that thing again ("dough", "starter", a person, a
  place); a Markov chain or word salad over a large source drifts from topic to topic, so its long
  words rarely come back. Measured on 300 words: real articles 0.05-0.15 at the 2nd percentile and
  0.24-0.37 at the median, Markov chains 0.055 at the median (bench/fluency_calibration.py). NaN with
  fewer than ``min_count`` content words.
* :func:`mojibake_rate` - ftfy's ``badness`` (Speer, ftfy: character sequences that almost only
  occur in text decoded with the wrong codec, such as ``Ã©``) and U+FFFD replacement characters,
  per 1,000 characters.
* :func:`mixed_script_rate` - Latin letters next to a Cyrillic or Greek letter inside a word, per
  1,000 characters of the whole text: Latin-script text read through a Cyrillic / Greek code page.
* :func:`spaceless` - whether most of a document's letters are in a script written without
  spaces that :mod:`curation.text.words` does not cut into words (Lao, Khmer, Myanmar, Javanese,
  Tai Tham, Tibetan, Yi, ...): there "words" are whole phrases, so the word-repetition measures
  say nothing and are not judged.

Thresholds and the measurements behind them are in :mod:`curation.operators.fluency` and
docs/quality.md.
"""

from __future__ import annotations

import threading
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.hashing import splitmix64

#: languages written without spaces: their words here are single characters (curation.text.words),
#: so they are looked up as characters, in the characters that make up 99.9% of the word list's
#: frequency mass; Korean and Thai are left out (no lookup: NaN).
_BY_CHAR = {"zh", "ja"}
_NO_LOOKUP = {"ko", "th", "my", "km", "lo"}
_CHAR_MASS = 0.999
#: wordfreq's "small" lists (the words above a frequency of 1e-6, tens of thousands per language) load
#: about 19x faster than the "best" ones (0.4 s against 7.1 s for nine languages, once per worker);
#: real text still measured 0.28-1.0 known words with them (UDHR; news 0.86-1.0), random strings 0.22.
WORDLIST = "small"
_LISTS: dict[str, frozenset | None] = {}
_LOCK = threading.Lock()


#: the pseudo-language of Han / kana text without a named language: Chinese and Japanese characters
_HAN_ANY = "zh+ja"


def word_list(lang: str) -> frozenset | None:
    """The wordfreq word list of ``lang`` (its characters for zh/ja), loaded once per process; None
    when there is none."""
    if not lang or lang in _NO_LOOKUP:
        return None
    if lang == _HAN_ANY:
        if lang not in _LISTS:
            union = (word_list("zh") or frozenset()) | (word_list("ja") or frozenset())
            with _LOCK:
                _LISTS[lang] = union
        return _LISTS[lang]
    with _LOCK:
        if lang not in _LISTS:
            import wordfreq

            if lang not in wordfreq.available_languages(wordlist=WORDLIST):
                _LISTS[lang] = None
            elif lang in _BY_CHAR:
                mass: dict[str, float] = {}
                for w, f in wordfreq.get_frequency_dict(lang, wordlist=WORDLIST).items():
                    for c in w:
                        mass[c] = mass.get(c, 0.0) + f
                total, acc, keep = sum(mass.values()), 0.0, []
                for c, f in sorted(mass.items(), key=lambda x: (-x[1], x[0])):
                    keep.append(c)
                    acc += f
                    if acc >= _CHAR_MASS * total:
                        break
                _LISTS[lang] = frozenset(keep)
            else:
                _LISTS[lang] = frozenset(wordfreq.get_frequency_dict(lang, wordlist=WORDLIST))
        return _LISTS[lang]


def _np(a) -> np.ndarray:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return a.to_numpy(zero_copy_only=False)


def known_word_frac(words: pa.Array, offsets: np.ndarray, langs: list[str]) -> np.ndarray:
    """Per document: share of its non-numeric words found in its language's word list (NaN: no list)."""
    n = len(offsets) - 1
    out = np.full(n, np.nan)
    if not len(words):
        return out
    doc_of = np.repeat(np.arange(n), np.diff(offsets))
    numeric = _np(pc.match_substring_regex(words, r"^\p{N}+$"))
    enc = pc.dictionary_encode(words)
    ids = _np(enc.indices).astype(np.int64)
    # wordfreq's lists are NFC; some texts (e.g. Vietnamese) arrive decomposed
    vocab = [w if w.isascii() else unicodedata.normalize("NFC", w) for w in enc.dictionary.to_pylist()]
    arr = np.array([l or "" for l in langs], dtype=object)
    # a document the language stage could not name (``und``, or a language without a list) that is
    # written mostly in Han / kana characters is looked up in the characters of Chinese and Japanese
    han = _np(pc.match_substring_regex(words, r"^[\p{Han}\p{Hiragana}\p{Katakana}]$"))
    han_docs = np.bincount(doc_of[han], minlength=n) > 0.5 * np.diff(offsets)
    listless = np.isin(arr, [l for l in set(arr) if word_list(l) is None])
    arr = np.where(listless & han_docs, _HAN_ANY, arr).astype(object)
    for lang in sorted(set(arr)):
        known_words = word_list(lang)
        if known_words is None:
            continue
        docs = arr == lang
        sel = docs[doc_of] & ~numeric
        in_list = np.zeros(len(vocab), bool)
        for i in np.unique(ids[sel]):  # only the words of this language's documents
            in_list[i] = vocab[i] in known_words
        total = np.bincount(doc_of[sel], minlength=n)
        hit = np.bincount(doc_of[sel & in_list[ids]], minlength=n)
        frac = np.divide(hit, total, out=np.full(n, np.nan), where=total > 0)
        out[docs] = frac[docs]
    return out


def _first_words(words: pa.Array, offsets: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Word ids (dictionary-encoded over the batch) and document of the first ``limit`` words."""
    n = len(offsets) - 1
    doc_of = np.repeat(np.arange(n), np.diff(offsets))
    pos = np.arange(len(doc_of)) - offsets[:-1][doc_of]
    keep = pos < limit
    if not keep.any():
        return np.zeros(0, np.int64), doc_of[keep]
    head = words.filter(pa.array(keep)) if not keep.all() else words
    return _np(pc.dictionary_encode(head).indices).astype(np.int64), doc_of[keep]


def _repeats(keys: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    """Per document: occurrences of a key after its first one in that document (keys < 2**40)."""
    if not len(keys):
        return np.zeros(n)
    combined = np.sort((doc.astype(np.uint64) << np.uint64(40)) | keys.astype(np.uint64))
    first = np.ones(len(combined), bool)
    first[1:] = combined[1:] != combined[:-1]  # (a sort beats np.unique's hash table here)
    distinct = np.bincount((combined[first] >> np.uint64(40)).astype(np.int64), minlength=n)
    return np.bincount(doc, minlength=n) - distinct


def prefixes(words: pa.Array, length: int | None) -> pa.Array:
    """Each word cut to its first ``length`` characters (a crude, language-free stemmer: "Feuerwehr",
    "Feuerwehren" and "Feuerwehrtaucher" share "feue"); ``None`` leaves the words whole."""
    if not length or not len(words):
        return words
    return pc.utf8_slice_codeunits(words, 0, length)


def pair_recurrence(words: pa.Array, offsets: np.ndarray, max_words: int = 1000) -> np.ndarray:
    """Per document: (repeated adjacent word pairs + 1) / (repeated words + 1), first ``max_words``."""
    n = len(offsets) - 1
    ids, doc = _first_words(words, offsets, max_words)
    return (_pair_repeats(ids, doc, n) + 1.0) / (_repeats(ids, doc, n) + 1.0)


def _pair_repeats(ids: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    same = doc[1:] == doc[:-1]
    a, b = ids[:-1][same], ids[1:][same]
    if len(ids) and ids.max() >= (1 << 20):  # a huge batch: compact the pair keys below 2**40
        keys = np.unique(a * (int(ids.max()) + 1) + b, return_inverse=True)[1].astype(np.int64)
    else:
        keys = (a << 20) | b
    return _repeats(keys, doc[:-1][same], n)


def pair_excess(words: pa.Array, offsets: np.ndarray, max_words: int = 1000, shuffles: int = 4,
                min_expected: float = 2.0) -> np.ndarray:
    """Per document: (repeated adjacent word pairs + 1) / (the same count in the document's own words
    shuffled + 1), the shuffle averaged over ``shuffles`` fixed permutations. Word order carries
    syntax, so written language repeats pairs far more than its shuffled words do; word salad is its
    own shuffle (about 1). The permutations depend only on word positions, so a document's value
    never depends on the rest of its batch."""
    n = len(offsets) - 1
    ids, doc = _first_words(words, offsets, max_words)
    observed = _pair_repeats(ids, doc, n)
    start = np.searchsorted(doc, np.arange(n))
    pos = (np.arange(len(doc)) - start[doc]).astype(np.uint64)
    shuffled = np.zeros(n)
    for r in range(shuffles):
        key = splitmix64(pos + np.uint64((r + 1) << 32))
        order = np.lexsort((key, doc))
        shuffled += _pair_repeats(ids[order], doc[order], n)
    expected = shuffled / shuffles
    ratio = (observed + 1.0) / (expected + 1.0)
    # with fewer than ``min_expected`` repeated pairs expected by chance the ratio is noise (a short
    # text of rare words): not measured
    return np.where(expected >= min_expected, ratio, np.nan)


def content_recurrence(words: pa.Array, offsets: np.ndarray, limit: int = 300, min_chars: int = 6,
                       prefix_chars: int = 5, min_count: int = 10) -> np.ndarray:
    """Per document: repeated content words / content words over its first ``limit`` words (a
    content word has at least ``min_chars`` characters and is compared on its first ``prefix_chars``);
    NaN with fewer than ``min_count`` content words."""
    n = len(offsets) - 1
    out = np.full(n, np.nan)
    if not len(words):
        return out
    doc_of = np.repeat(np.arange(n), np.diff(offsets))
    pos = np.arange(len(doc_of)) - offsets[:-1][doc_of]
    keep = (pos < limit) & (_np(pc.utf8_length(words)) >= min_chars)
    if not keep.any():
        return out
    heads = prefixes(words.filter(pa.array(keep)), prefix_chars)
    ids = _np(pc.dictionary_encode(heads).indices).astype(np.int64)
    doc = doc_of[keep]
    total = np.bincount(doc, minlength=n)
    rep = _repeats(ids, doc, n)
    ok = total >= min_count
    out[ok] = rep[ok] / total[ok]
    return out


def unique_word_frac(words: pa.Array, offsets: np.ndarray, ttr_words: int = 300) -> np.ndarray:
    """Per document: distinct words / words over its first ``ttr_words`` words (0 for no words)."""
    n = len(offsets) - 1
    ids, doc = _first_words(words, offsets, ttr_words)
    total = np.bincount(doc, minlength=n)
    distinct = total - _repeats(ids, doc, n)
    return np.divide(distinct, total, out=np.zeros(n), where=total > 0)


def mojibake_rate(texts: list[str], max_chars: int = 2000) -> np.ndarray:
    """Per document: ftfy badness plus U+FFFD replacement characters (what a decoder leaves for
    bytes it could not read) per 1,000 characters of its first ``max_chars`` characters."""
    from ftfy.badness import badness

    out = np.zeros(len(texts))
    for i, t in enumerate(texts):
        head = (t or "")[:max_chars]
        if head and not head.isascii():  # every sequence ftfy counts has a non-ASCII character
            out[i] = 1000.0 * (badness(head) + head.count("\ufffd")) / len(head)
    return out


# A Latin letter next to a Cyrillic or Greek one, inside a word ("neЙ—o", "TagГјdaru"): Latin text whose
# UTF-8 bytes were read through a Cyrillic or Greek code page (cp1251, KOI8-R, cp1253), which ftfy's
# badness does not count, or homoglyph spam
_MIXED_SCRIPT_RE2 = r"\p{Latin}[\p{Cyrillic}\p{Greek}]|[\p{Cyrillic}\p{Greek}]\p{Latin}"


def mixed_script_rate(texts: pa.Array) -> np.ndarray:
    """Per document: Latin letters adjacent to a Cyrillic or Greek letter, per 1,000 characters of
    the whole text (Arrow's RE2 kernel over the column)."""
    pairs = _np(pc.count_substring_regex(texts, _MIXED_SCRIPT_RE2)).astype(np.float64)
    chars = _np(pc.utf8_length(texts)).astype(np.float64)
    return np.divide(1000.0 * pairs, chars, out=np.zeros(len(texts)), where=chars > 0)


# Scripts written without spaces that curation.text.words leaves as whole runs (Han, kana and Thai
# are cut into characters / syllables there, so they are not in this list).
_SPACELESS_RE2 = (r"[\p{Lao}\p{Khmer}\p{Myanmar}\p{Javanese}\p{Tai_Tham}\p{Tibetan}\p{Yi}\p{Balinese}"
                  r"\p{Sundanese}\p{Buginese}\p{Tai_Le}\p{New_Tai_Lue}\p{Tai_Viet}\p{Vai}]")


def spaceless(texts: pa.Array) -> np.ndarray:
    """Per document: True when more than half of its letters are in a script of ``_SPACELESS_RE2``."""
    out = np.zeros(len(texts), bool)
    rest = np.flatnonzero(~_np(pc.string_is_ascii(texts)).astype(bool))  # ASCII text is never spaceless
    if len(rest):
        sub = texts.take(pa.array(rest))
        letters = _np(pc.count_substring_regex(sub, r"\p{L}")).astype(np.float64)
        runs = _np(pc.count_substring_regex(sub, _SPACELESS_RE2)).astype(np.float64)
        out[rest] = np.divide(runs, letters, out=np.zeros(len(rest)), where=letters > 0) > 0.5
    return out
