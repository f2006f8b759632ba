"""heuristics: Gopher quality + Gopher repetition + C4 rules + FineWeb line rules + dirty words.

Every rule writes its measured value as a typed column and, when it fails, its name as the reject
reason (the first failing rule in the order below; ``detail`` says ``measure value > threshold``), so
thresholds can be tuned afterwards with ``curate query`` over kept and rejected rows alike.

The stage is vectorized over the whole batch: words, lines and paragraphs are split by Arrow's
RE2 kernels into flat arrays, each is dictionary-encoded to integer ids, and duplicate and n-gram
statistics are computed with numpy sorts and ``bincount`` over (document, id) keys, never with a
Python loop over words. Words are those of :mod:`curation.text.words` (CJK one character a word,
Thai cut at syllable starts), lower-cased.

Rules and defaults (each threshold is the published one; ``None`` disables a rule):

Gopher quality (Rae et al. 2021, "Scaling Language Models", Appendix A.1; same defaults as
datatrove's ``GopherQualityFilter``):
  ``gopher_word_count``   words outside [50, 100000]                             column ``words``
  ``gopher_mean_word_length`` mean word length outside [3, 10] characters (skipped when more than
                          half of the letters are Han/kana/Thai: their words are 1-3 characters)
                                                                                 ``mean_word_len``
  ``gopher_symbol_ratio`` "#" per word or "..."/"…" per word above 0.1          ``symbol_word_ratio``
  ``gopher_bullet_lines`` more than 90% of non-empty lines start with a bullet   ``bullet_line_frac``
  ``gopher_ellipsis_lines`` more than 30% of non-empty lines end with an ellipsis ``ellipsis_line_frac``
  ``gopher_alpha_words``  fewer than 80% of words contain a letter               ``alpha_word_frac``
  ``gopher_stop_words``   fewer than 2 distinct stop words (:mod:`curation.text.stopwords`; only for
                          documents whose ``lang`` has a list, or all when there is no ``lang``)
                                                                                 ``stop_words``
Gopher repetition (Rae et al. 2021, Table A1; the "duplicated n-gram coverage ratio" of the
Llama 3 report, Section 3.1.2); character fractions are over ``len(text)`` as in datatrove:
  ``dup_line_frac`` > 0.30, ``dup_para_frac`` > 0.30 (lines/paragraphs that repeat an earlier one),
  ``dup_line_char_frac`` > 0.20, ``dup_para_char_frac`` > 0.20 (their characters),
  ``top_{2,3,4}gram_frac`` > 0.20/0.18/0.16 (characters of the most frequent n-gram x its count),
  ``dup_{5..10}gram_frac`` > 0.15/0.14/0.13/0.12/0.11/0.10: characters of the words covered by
  the repeats (every occurrence after the first) of n-grams, each word counted once, in the text
  with every line that repeats an earlier one left out: repeated lines are the line rules' to judge,
  so a repeated character is counted by one rule (issue 23; the most frequent n-gram is counted over
  the whole text). (datatrove instead skips ahead n words after each repeat and counts joined n-gram
  characters: close, and equal when repeats do not overlap.)
C4 (Raffel et al. 2020, Section 2.2, and the C4 code as in datatrove's ``C4QualityFilter``), at
document level without rewriting the text: a line "survives" when it ends in terminal punctuation
(``. ? ! " '`` and the CJK full-width forms, not "..."; Wikipedia citation marks removed first),
has at least 3 words, has no word over 1000 characters, does not mention "javascript" and is no
cookie/terms/privacy-policy line. Then:
  ``c4_lorem_ipsum`` / ``c4_curly_bracket``: a surviving line contains "lorem ipsum" / "{";
  ``c4_too_few_sentences``: the surviving lines hold fewer than 5 sentences     ``c4_sentences``
  (the share of surviving lines is written as ``c4_line_frac``).
FineWeb (Penedo et al. 2024, datatrove ``FineWebQualityFilter`` defaults):
  ``fineweb_line_punct`` fewer than 12% of non-empty lines end in terminal punctuation ``line_punct_frac``
  ``fineweb_short_lines`` more than 67% of non-empty lines are <= 30 characters ``short_line_frac``
  ``fineweb_dup_chars``  more than 1% of characters are in duplicated lines    ``dup_line_chars_nonl``
  ``fineweb_list_ratio`` more than 0.3 newlines per word                        ``newline_word_ratio``
Machine logs (ours, on in every domain): ``machine_log`` when more than 30% of the non-empty lines
start like a log line (a timestamp, an IPv4 address, a JSON object, a log level, a "[12/345]"
build counter)                                                              ``log_line_frac``
Code (The Stack, Kocetkov et al. 2022, Section 3; off by default, on for the code domain in the
pipeline): ``code_max_line_length`` a line over 1000 characters, ``code_mean_line_length`` mean
line length over 100, ``code_alnum_frac`` fewer than 25% alphanumeric characters
                                              ``max_line_len``, ``mean_line_len``, ``alnum_frac``
Per domain and script: ``by_domain`` overrides any field for documents of one domain (the
``domain`` column) and ``by_script.no_space`` for documents mostly in Han/kana/Thai (see
docs/quality.md for the pipeline's calibrated values).
Dirty words (Llama 3 report 3.1.2 "dirty word counting"; lists: LDNOOBW, as C4; threshold 0.045
from BigScience ROOTS / data-juicer ``flagged_words_filter`` ``max_ratio``):
  ``dirty_words``: whole-word matches of the document language's list (English when there is no
  ``lang`` column; no list for the language counts 0) per word above 0.045
                                                         ``dirty_words``, ``dirty_word_ratio``

Each rule group can be switched off (``gopher_quality``, ``gopher_repetition``, ``c4``,
``fineweb``, ``dirty_words``); a disabled group writes no columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation import schema
from curation.hashing import splitmix64
from pydantic import Field, field_validator

from curation.operators.base import Params
from curation.operators.filter import Decision, Filter
from curation.text import badwords, stopwords
from curation.text.words import NO_SPACE_RE2, split_words_column

_BULLETS = r"^\s*[•‣◦⁃▪∙·\-\*]"
_ELLIPSIS_END = r"(?:\.\.\.|…)\s*$"
# datatrove's END_PUNCTUATION plus the full-width CJK forms (C4 itself was English-only).
_C4_END = r"[.?!\"'。！？]$"
_C4_CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
_C4_POLICY = r"terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies"
_SENTENCE_END = r"[.!?。！？]+(?:[\"'”’)\]]*)(?:\s|$)"
# A line that starts the way machine logs do: a timestamp (ISO 8601, Apache/nginx, syslog, time of
# day), an IPv4 address, a JSON object, a log level, or a build-progress counter "[12/345]".
_LOG_LINE = (r"^\s*(?:\[?\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}|\[?\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}"
             r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}[.,\] ]|\d{1,3}(?:\.\d{1,3}){3}\b"
             r"|\{\s*\"[\w@.]+\"\s*:|\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)\b"
             r"|\[\s*\d+/\d+\])")
# Terminal punctuation of many scripts (datatrove's TERMINAL_PUNCTUATION is a superset).
_FINEWEB_END = r"[.!?。！？…\"'”’»)\]؟।۔።॥᠃᠉]$"


#: Prose on real web pages (issue 23, bench/fluency_calibration.py; real-article percentiles in
#: docs/quality.md): the Gopher / FineWeb thresholds that cut into real pages, raised to about the
#: real pages' 99th percentile. Ellipsis lines: off (7 real pages lost, 0 junk pages caught).
_PROSE_WEB: dict[str, Any] = {
    "min_words": 30,                  # Gopher 50: 5 real short news items / notices of 24-45 words
    "max_ellipsis_line_frac": None,   # Gopher 0.3: real 99th pct 0.12-0.20, one line of a 3-line teaser
    "min_alpha_word_frac": 0.75,      # Gopher 0.8: English real 1st pct 0.84, a few pages 0.76-0.79
    "max_short_line_frac": 0.8,       # FineWeb 0.67: English real 99th pct 0.66, max 0.95
    "min_line_punct_frac": 0.05,      # FineWeb 0.12: real 1st pct 0.07 (headline-heavy pages)
    "max_newline_word_ratio": 0.4,    # FineWeb 0.3: real max 0.30 (English)
    # Gopher's line / paragraph counts (0.3) off: boilerplate is measured by its characters (the two
    # rules below). A count weighs a 19-character photo credit repeated 44 times like 44 paragraphs: a
    # real travel article was 55% duplicated lines and 10% duplicated characters; no junk page of the
    # calibration set was caught by a line count alone (issue 23, bench/fluency_calibration.py)
    "max_dup_line_frac": None,
    "max_dup_para_frac": None,
    "max_dup_line_char_frac": 0.35,   # Gopher 0.2: real 99th pct 0.15-0.29
    "max_dup_para_char_frac": 0.35,   # Gopher 0.2
}
#: ... and for text not in English (multilingual, undetermined)
_PROSE_WEB_NON_EN: dict[str, Any] = {
    "min_mean_word_len": None, "max_mean_word_len": None, "min_line_punct_frac": None,
    # Gopher's stop-word rule stays, judged with the document language's own list (curation/text/
    # stopwords.py: de, es, fr, it, nl, pt; none for other languages, then not judged), as FineWeb-2
    # does per language: it drops German keyword spam with one stop word in 194 words, and one real
    # page (an athletics results table, 1 stop word); off until issue 23
    "min_alpha_word_frac": 0.5,       # real 1st pct 0.73; German price lists / results tables 0.55
    "max_short_line_frac": None,      # dropped 10 real German pages, caught no junk
    "max_newline_word_ratio": 0.5,    # real 99th pct 0.22, max 0.73
    # Gopher x 1.3 / x 1.6: real 99th pct top-4-gram 0.13, dup-5-gram 0.24 (Gopher 0.16 / 0.15)
    "top_ngram_max_frac": {2: 0.26, 3: 0.234, 4: 0.208},
    "dup_ngram_max_frac": {5: 0.24, 6: 0.224, 7: 0.208, 8: 0.192, 9: 0.176, 10: 0.16},
}

#: the rule groups, each switched on or off as a whole (also per domain)
GROUPS = ("gopher_quality", "gopher_repetition", "c4", "fineweb", "dirty_words", "code", "logs")


class HeuristicsParams(Params):
    gopher_quality: bool = True
    gopher_repetition: bool = True
    #: C4's line rules are English-sentence rules ("{" in a line drops code blogs; 5 sentences drops
    #: short prose paragraphs); FineWeb's cover the same ground, so off by default (as llama3.yaml had it)
    c4: bool = False
    fineweb: bool = True
    dirty_words: bool = True
    # -- Gopher quality (Rae et al. 2021, A.1) --
    min_words: Optional[int] = 50
    max_words: Optional[int] = 100_000
    min_mean_word_len: Optional[float] = 3.0
    max_mean_word_len: Optional[float] = 10.0
    max_symbol_word_ratio: Optional[float] = 0.1
    max_bullet_line_frac: Optional[float] = 0.9
    max_ellipsis_line_frac: Optional[float] = 0.3
    min_alpha_word_frac: Optional[float] = 0.8
    min_stop_words: Optional[int] = 2
    # -- Gopher repetition (Rae et al. 2021, Table A1) --
    max_dup_line_frac: Optional[float] = 0.3
    max_dup_para_frac: Optional[float] = 0.3
    max_dup_line_char_frac: Optional[float] = 0.2
    max_dup_para_char_frac: Optional[float] = 0.2
    #: n -> max character fraction of the most frequent n-gram
    top_ngram_max_frac: dict[int, float] = {2: 0.20, 3: 0.18, 4: 0.16}
    #: n -> max character fraction covered by repeated n-grams
    dup_ngram_max_frac: dict[int, float] = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    # -- C4 (Raffel et al. 2020; datatrove C4QualityFilter defaults) --
    c4_min_sentences: Optional[int] = 5
    c4_min_words_per_line: int = 3
    c4_max_word_length: int = 1000
    c4_require_terminal_punct: bool = True
    # -- FineWeb (datatrove FineWebQualityFilter defaults) --
    min_line_punct_frac: Optional[float] = 0.12
    max_short_line_frac: Optional[float] = 0.67
    short_line_chars: int = 30
    #: FineWeb's 1% duplicated-line-character rule (datatrove: 0.01): off, Gopher's 0.2 covers it
    #: (news lost 2/59; docs/quality.md)
    max_dup_line_chars_nonl: Optional[float] = None
    max_newline_word_ratio: Optional[float] = 0.3
    # -- dirty words (data-juicer / BigScience ROOTS flagged-word ratio) --
    max_dirty_word_ratio: Optional[float] = 0.045
    #: Optional folder of extra ``<lang>.txt`` word lists merged with the bundled LDNOOBW lists.
    extra_dirty_words_dir: str = ""
    # -- machine logs (ours; every domain: a log is not text nor code) --
    logs: bool = True
    max_log_line_frac: Optional[float] = 0.3
    # -- code (The Stack, Kocetkov et al. 2022, Section 3; kept by StarCoder, Li et al. 2023) --
    code: bool = False
    code_max_line_length: Optional[int] = 1000
    code_max_mean_line_length: Optional[float] = 100.0
    code_min_alnum_frac: Optional[float] = 0.25
    # -- per domain and per script --
    #: domain -> overrides of any field above (rule groups and thresholds) for documents of that
    #: domain (column ``domain``, from the domain stage), e.g. ``{code: {gopher_quality: false,
    #: code: true}}``. Documents of other domains, or without a domain column, use the fields above.
    by_domain: dict[str, dict[str, Any]] = Field(default_factory=lambda: {
        # The Stack's rules (Kocetkov et al. 2022), not prose rules: code repeats lines by design
        "code": {"gopher_quality": False, "gopher_repetition": False, "fineweb": False, "code": True},
        # worked answers: numbers are not words, "<<48/2=24>>" repeats; n-gram limits = 1.1 x the highest
        # of 3,000 GSM8K train answers; "#### 42" is 4 hashes in a 30-word answer (docs/quality.md)
        "math": {"fineweb": False, "min_alpha_word_frac": None, "min_stop_words": None, "min_words": 20,
                 "min_mean_word_len": 2.5, "max_symbol_word_ratio": 0.25,
                 "top_ngram_max_frac": {2: 0.41, 3: 0.44, 4: 0.40},
                 "dup_ngram_max_frac": {5: 0.33, 6: 0.32, 7: 0.32, 8: 0.32, 9: 0.32, 10: 0.26}},
        # Real web pages, not Gopher's cleaned MassiveWeb: bench/fluency_calibration.py (issue 23) on
        # 1,249 real articles (WikiText, AEB bodies and pages, CCNet, trafilatura's, Readability's and
        # the unannotated pages of ../shared/data) and 780 junk pages. Each value is at or above the
        # real pages' 99th percentile where the published one cut into them (listings, forum and shop
        # pages, comment threads), and no value lets more junk through than 95% removal allows:
        "general": dict(_PROSE_WEB),
        # ... plus: Gopher's word-length and stop-word rules and FineWeb's punctuation were set on
        # English; numbers, dates and prices make German / Spanish pages' alphabetic-word share 0.55-0.8;
        # FineWeb's short-line rule dropped 10 German pages (recipes, data sheets) and no junk there
        "multilingual": {**_PROSE_WEB, **_PROSE_WEB_NON_EN},
        "undetermined": {**_PROSE_WEB, **_PROSE_WEB_NON_EN},
    })
    #: ``no_space`` -> overrides for documents mostly written without spaces (Han, kana, Thai, ...),
    #: applied on top of the domain's. Their words are single characters / syllables, so word
    #: n-gram statistics mean something else there (calibrated on UDHR: docs/quality.md).
    by_script: dict[str, dict[str, Any]] = Field(default_factory=lambda: {
        # Han/kana/Thai: one character a word, so repeated 5..10-grams are 2-4 words; UDHR max x 1.1
        "no_space": {"dup_ngram_max_frac": {5: 0.33, 6: 0.27, 7: 0.21, 8: 0.16, 9: 0.14, 10: 0.12}}})

    @field_validator("by_domain", "by_script")
    @classmethod
    def _known_fields(cls, v, info):
        if info.field_name == "by_script" and set(v) - {"no_space"}:
            raise ValueError(f"unknown scripts {sorted(set(v) - {'no_space'})}; known: ['no_space']")
        for key, upd in v.items():
            bad = sorted(set(upd) - (set(cls.model_fields) - {"by_domain", "by_script"}))
            if bad:
                raise ValueError(f"{key}: unknown heuristics fields {bad}")
            cls(**{**upd})  # the overrides' own types and values are checked too
        return v


def _np(a) -> np.ndarray:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return a.to_numpy(zero_copy_only=False)


def _per_doc(values, doc_of, n) -> np.ndarray:
    return np.bincount(doc_of, weights=values, minlength=n) if len(doc_of) else np.zeros(n)


def _safe_div(a, b) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide(a, b, out=out, where=b > 0)
    return out


class _Pieces:
    """Flat pieces (lines or paragraphs) of a batch with their document index."""

    def __init__(self, texts: pa.Array, pattern: str, regex: bool, strip: bool = True):
        lists = (pc.split_pattern_regex if regex else pc.split_pattern)(texts, pattern)
        lengths = _np(pc.list_value_length(lists)).astype(np.int64)
        flat = lists.flatten()
        if strip:
            flat = pc.utf8_trim_whitespace(flat)
        doc_of = np.repeat(np.arange(len(lengths)), lengths)
        nonempty = _np(pc.greater(pc.binary_length(flat), 0))
        self.all = flat
        self.all_doc = doc_of
        self.flat = flat.filter(pa.array(nonempty))
        self.doc = doc_of[nonempty]
        self.n = len(lengths)
        self.count = np.bincount(self.doc, minlength=self.n)
        self.chars = _np(pc.utf8_length(self.flat)).astype(np.int64) if len(self.flat) else np.zeros(0, np.int64)

    def duplicates(self) -> tuple[np.ndarray, np.ndarray]:
        """Per document: (pieces equal to an earlier piece, their characters)."""
        if not len(self.flat):
            return np.zeros(self.n), np.zeros(self.n)
        ids = _np(pc.dictionary_encode(self.flat).indices).astype(np.int64)
        key = self.doc.astype(np.int64) * (int(ids.max()) + 1) + ids
        _, first = np.unique(key, return_index=True)
        dup = np.ones(len(key), dtype=bool)
        dup[first] = False
        return (np.bincount(self.doc[dup], minlength=self.n).astype(np.float64),
                _per_doc(self.chars[dup], self.doc[dup], self.n))

    def without_repeats(self) -> pa.Array:
        """Per document: its text with every line that repeats an earlier line of it left out (lines
        stripped, joined by newlines)."""
        if not len(self.flat):
            return pa.array([""] * self.n, pa.large_string())
        ids = _np(pc.dictionary_encode(self.flat).indices).astype(np.int64)
        key = self.doc.astype(np.int64) * (int(ids.max()) + 1) + ids
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(len(key), dtype=bool)
        keep[first] = True
        counts = np.bincount(self.doc[keep], minlength=self.n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        kept = self.flat.filter(pa.array(keep)).cast(pa.large_string())
        return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), kept), pa.scalar("\n", pa.large_string()))

    def frac_matching(self, pattern: str) -> np.ndarray:
        if not len(self.flat):
            return np.zeros(self.n)
        m = _np(pc.match_substring_regex(self.flat, pattern))
        return _safe_div(np.bincount(self.doc[m], minlength=self.n), self.count)


@dataclass
class _Measured:
    """One batch's measurements: the value columns, plus what the rules need but no column holds."""

    columns: dict[str, np.ndarray]
    no_space: np.ndarray         # per document: written mostly in a script without spaces
    no_space_script: np.ndarray  # the same where ``by_script`` overrides apply, else all False
    c4_reason: list              # per document: the C4 line rule that fired (curly bracket, lorem ipsum), or None


class Heuristics(Filter):
    name = "heuristics"
    Params = HeuristicsParams

    # -- measuring --------------------------------------------------------------------------
    def measure(self, table: pa.Table) -> dict[str, np.ndarray]:
        """All measured values of a batch, one numpy array per column name (every rule group that
        the base parameters or any ``by_domain`` / ``by_script`` override turns on)."""
        return self._measure(table).columns

    def _measure(self, table: pa.Table) -> _Measured:
        p: HeuristicsParams = self._groups_measured()
        texts = table.column(schema.TEXT)
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        texts = pc.fill_null(texts.cast(pa.large_string()), "")
        n = len(texts)
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else None
        out: dict[str, np.ndarray] = {}
        text_len = _np(pc.utf8_length(texts)).astype(np.float64)

        words, offsets = split_words_column(texts)
        n_words = np.diff(offsets).astype(np.float64)
        doc_of = np.repeat(np.arange(n), np.diff(offsets))
        wlen = _np(pc.utf8_length(words)).astype(np.float64) if len(words) else np.zeros(0)
        lines = _Pieces(texts, "\n", regex=False)

        letters = _np(pc.count_substring_regex(texts, r"\p{L}")).astype(np.float64)
        nospace = _np(pc.count_substring_regex(texts, NO_SPACE_RE2)).astype(np.float64)
        no_space = _safe_div(nospace, letters) > 0.5
        c4_reason: list = [None] * n
        if p.logs:
            out["log_line_frac"] = lines.frac_matching(_LOG_LINE)
        if p.code:
            line_chars = lines.chars
            out["max_line_len"] = np.zeros(n)
            if len(line_chars):
                np.maximum.at(out["max_line_len"], lines.doc, line_chars)
            out["mean_line_len"] = _safe_div(_per_doc(line_chars, lines.doc, n), lines.count)
            alnum = _np(pc.count_substring_regex(texts, r"[\p{L}\p{N}]")).astype(np.float64)
            out["alnum_frac"] = _safe_div(alnum, text_len)
        if p.gopher_quality:
            out["words"] = n_words.astype(np.int32)
            out["mean_word_len"] = _safe_div(_per_doc(wlen, doc_of, n), n_words)
            hashes = _np(pc.count_substring(texts, "#")).astype(np.float64)
            ell = (_np(pc.count_substring(texts, "...")) + _np(pc.count_substring(texts, "…"))).astype(np.float64)
            out["symbol_word_ratio"] = np.maximum(_safe_div(hashes, n_words), _safe_div(ell, n_words))
            out["bullet_line_frac"] = lines.frac_matching(_BULLETS)
            out["ellipsis_line_frac"] = lines.frac_matching(_ELLIPSIS_END)
            if len(words):
                alpha = _np(pc.match_substring_regex(words, r"\p{L}"))
                out["alpha_word_frac"] = _safe_div(np.bincount(doc_of[alpha], minlength=n), n_words)
            else:
                out["alpha_word_frac"] = np.zeros(n)
            out["stop_words"] = self._stop_words(words, doc_of, langs, n)

        if p.gopher_repetition or p.fineweb:
            dup_lines, dup_line_chars = lines.duplicates()
        if p.gopher_repetition:
            paras = _Pieces(pc.utf8_trim_whitespace(texts), r"\n\s*\n", regex=True)
            dup_paras, dup_para_chars = paras.duplicates()
            out["dup_line_frac"] = _safe_div(dup_lines, lines.count)
            out["dup_para_frac"] = _safe_div(dup_paras, paras.count)
            out["dup_line_char_frac"] = _safe_div(dup_line_chars, text_len)
            out["dup_para_char_frac"] = _safe_div(dup_para_chars, text_len)
            # every repeated character is judged once: repeated lines by the line rules above, repeated
            # n-grams of the running text by these (each line's first occurrence kept; issue 23)
            # (the most frequent n-gram is counted over the whole text: a stuffed phrase is one rule)
            out.update(self._ngrams(words, offsets, doc_of, wlen, text_len, dup=False))
            once = lines.without_repeats()
            w1, off1 = split_words_column(once)
            d1 = np.repeat(np.arange(n), np.diff(off1))
            wl1 = _np(pc.utf8_length(w1)).astype(np.float64) if len(w1) else np.zeros(0)
            out.update(self._ngrams(w1, off1, d1, wl1, text_len, top=False))

        if p.c4:
            c4, c4_reason = self._c4(lines, n)
            out.update(c4)

        if p.fineweb:
            out["line_punct_frac"] = lines.frac_matching(_FINEWEB_END)
            short = (lines.chars <= p.short_line_chars) if len(lines.chars) else np.zeros(0, bool)
            out["short_line_frac"] = _safe_div(np.bincount(lines.doc[short], minlength=n), lines.count)
            nonl = text_len - _np(pc.count_substring(texts, "\n"))
            out["dup_line_chars_nonl"] = _safe_div(dup_line_chars, nonl)
            out["newline_word_ratio"] = _safe_div(_np(pc.count_substring(texts, "\n")), n_words)

        if p.dirty_words:
            dirty = self._dirty(words, offsets, langs, n)
            out["dirty_words"] = dirty.astype(np.int32)
            out["dirty_word_ratio"] = _safe_div(dirty, n_words)
        return _Measured(out, no_space, no_space if p.by_script else np.zeros(n, bool), c4_reason)

    def _stop_words(self, words, doc_of, langs, n) -> np.ndarray:
        counts = np.full(n, -1, dtype=np.int64)  # -1: no list for this document's language
        if not len(words):
            counts[:] = 0 if langs is None else [0 if (l or "") in stopwords.STOP_WORDS else -1 for l in langs]
            return counts
        groups = {"en": np.arange(n)} if langs is None else {}
        if langs is not None:
            arr = np.array([l or "" for l in langs], dtype=object)
            for lang in set(arr) & set(stopwords.STOP_WORDS):
                groups[lang] = np.flatnonzero(arr == lang)
        for lang, docs in groups.items():
            counts[docs] = 0
            in_group = np.isin(doc_of, docs)
            if not in_group.any():
                continue
            w = words.filter(pa.array(in_group))
            d = doc_of[in_group]
            hit = _np(pc.is_in(w, value_set=pa.array(sorted(stopwords.STOP_WORDS[lang]), w.type)))
            if hit.any():
                ids = _np(pc.dictionary_encode(w.filter(pa.array(hit))).indices).astype(np.int64)
                key = np.unique(d[hit].astype(np.int64) * 64 + ids)
                counts += np.bincount(key // 64, minlength=n) * np.isin(np.arange(n), docs)
        return counts

    def _ngrams(self, words, offsets, doc_of, wlen, text_len, top: bool = True, dup: bool = True) -> dict[str, np.ndarray]:
        """The top n-gram (``top``) and duplicated n-gram (``dup``) character fractions of ``words``
        over ``text_len`` characters."""
        p: HeuristicsParams = self.params
        n = len(offsets) - 1
        top_k = dict(p.top_ngram_max_frac) if top else {}
        dup_k = dict(p.dup_ngram_max_frac) if dup else {}
        out = {f"top_{k}gram_frac": np.zeros(n) for k in sorted(top_k)}
        out.update({f"dup_{k}gram_frac": np.zeros(n) for k in sorted(dup_k)})
        total = len(words)
        if not total:
            return out
        ids = _np(pc.dictionary_encode(words).indices).astype(np.int64)
        m = splitmix64(ids + 1)
        doc_salt = splitmix64(doc_of.astype(np.int64) + (1 << 40))
        prime = np.uint64(0x100000001B3)
        cum_len = np.concatenate([[0.0], np.cumsum(wlen)])
        h = m.copy()
        max_n = max([*top_k, *dup_k, 1])
        for k in range(1, max_n + 1):
            if k > 1:
                with np.errstate(over="ignore"):
                    h = h[:-1] * prime + m[k - 1:]
            if k not in top_k and k not in dup_k:
                continue
            starts = np.arange(len(h))
            valid = doc_of[starts] == doc_of[starts + k - 1]
            pos = starts[valid]
            if not len(pos):
                continue
            key = h[valid] ^ doc_salt[pos]
            uniq, first, inv, cnt = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
            occ = cnt[inv]
            d = doc_of[pos]
            if k in top_k:
                # characters of the n-gram as words joined by spaces, times its count
                chars = cum_len[pos + k] - cum_len[pos] + (k - 1)
                best = np.zeros(n)
                np.maximum.at(best, d, chars * occ)
                out[f"top_{k}gram_frac"] = _safe_div(best, text_len)
            if k in dup_k:
                later = np.ones(len(pos), dtype=bool)
                later[first] = False  # the first occurrence of an n-gram is not a duplicate
                rep = pos[later]
                diff = np.zeros(total + 1, dtype=np.int64)
                np.add.at(diff, rep, 1)
                np.add.at(diff, rep + k, -1)
                covered = np.cumsum(diff[:-1]) > 0
                out[f"dup_{k}gram_frac"] = _safe_div(_per_doc(wlen * covered, doc_of, n), text_len)
        return out

    def _c4(self, lines: _Pieces, n: int) -> tuple[dict[str, np.ndarray], list]:
        """The C4 line rules' columns, and per document the line rule that rejects it (or None)."""
        p: HeuristicsParams = self.params
        flat = lines.flat
        res = {"c4_line_frac": np.zeros(n), "c4_sentences": np.zeros(n, np.int32)}
        reason: list = [None] * n
        if not len(flat):
            return res, reason
        cleaned = pc.utf8_trim_whitespace(pc.replace_substring_regex(flat, _C4_CITATION, ""))
        ok = np.ones(len(flat), dtype=bool)
        if p.c4_max_word_length > 0:
            # RE2 caps repetition counts at 1000, so look only at the (rare) long lines in Python
            long_idx = np.flatnonzero(lines.chars > p.c4_max_word_length)
            for i in long_idx:
                if max(map(len, flat[int(i)].as_py().split()), default=0) > p.c4_max_word_length:
                    ok[i] = False
        if p.c4_require_terminal_punct:
            ok &= _np(pc.match_substring_regex(cleaned, _C4_END)) & ~_np(pc.ends_with(cleaned, "..."))
        nwords = _np(pc.count_substring_regex(flat, r"\S+"))
        ok &= nwords >= p.c4_min_words_per_line
        lower = pc.utf8_lower(cleaned)
        lorem = ok & _np(pc.match_substring(lower, "lorem ipsum"))
        curly = ok & _np(pc.match_substring(cleaned, "{"))
        ok &= ~_np(pc.match_substring(lower, "javascript"))
        ok &= ~_np(pc.match_substring_regex(lower, _C4_POLICY))
        sentences = np.maximum(_np(pc.count_substring_regex(cleaned, _SENTENCE_END)), 1) * ok
        res["c4_line_frac"] = _safe_div(np.bincount(lines.doc[ok], minlength=n), lines.count)
        res["c4_sentences"] = np.bincount(lines.doc, weights=sentences, minlength=n).astype(np.int32)
        for name, mask in (("c4_curly_bracket", curly), ("c4_lorem_ipsum", lorem)):
            for d in np.unique(lines.doc[mask]):
                reason[d] = name
        return res, reason

    def _dirty(self, words, offsets, langs, n) -> np.ndarray:
        p: HeuristicsParams = self.params
        counts = np.zeros(n, dtype=np.int64)
        if not len(words):
            return counts
        lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), words)
        joined = pc.binary_join(lists, pa.scalar("  ", pa.large_string()))
        empty = pa.scalar("", pa.large_string())
        joined = pc.binary_join_element_wise(empty, joined, empty, pa.scalar(" ", pa.large_string()))
        arr = np.array(["en"] * n if langs is None else [l or "" for l in langs], dtype=object)
        extra = p.extra_dirty_words_dir or None
        for lang in set(arr):
            pat = badwords.pattern(lang, extra) if lang else None
            if pat is None:
                continue
            docs = np.flatnonzero(arr == lang)
            sub = joined.take(pa.array(docs)) if len(docs) < n else joined
            counts[docs] = _np(pc.count_substring_regex(sub, pat))
        return counts

    # -- deciding ---------------------------------------------------------------------------
    def effective(self, domain: str | None, no_space: bool) -> "HeuristicsParams":
        """The parameters for documents of ``domain`` (``by_domain`` overrides) written mostly in a
        script without spaces (then ``by_script['no_space']`` overrides on top)."""
        p: HeuristicsParams = self.params
        upd = dict(p.by_domain.get(domain or "", {}))
        if no_space:
            upd.update(p.by_script.get("no_space", {}))
        return p.model_copy(update=upd) if upd else p

    def _groups_measured(self) -> "HeuristicsParams":
        """Base parameters with every rule group on that any domain or script override turns on."""
        p: HeuristicsParams = self.params
        on = {}
        for upd in [*p.by_domain.values(), *p.by_script.values()]:
            for g in GROUPS:
                if upd.get(g):
                    on[g] = True
        return p.model_copy(update=on) if on else p

    def _decide(self, measured: _Measured, q: "HeuristicsParams", rows: np.ndarray, reasons, details) -> None:
        """Apply the rules of ``q`` to the documents where ``rows`` is True (first failure wins)."""
        m = measured.columns

        def check(name: str, measure: str, lo=None, hi=None, mask=None) -> None:
            """Reject, as ``name``, rows whose column ``measure`` falls outside [lo, hi]; ``detail``
            names the measure, its value and the threshold (``dup_line_frac 0.36 > 0.3``)."""
            if lo is None and hi is None:
                return
            values = m[measure]
            bad = np.zeros(len(rows), dtype=bool)
            if lo is not None:
                bad |= values < lo
            if hi is not None:
                bad |= values > hi
            bad &= rows
            if mask is not None:
                bad &= mask
            for i in np.flatnonzero(bad):
                if reasons[i] is None:
                    v = values[i]
                    reasons[i] = name
                    details[i] = f"{measure} " + (f"{v:.4g} < {lo}" if lo is not None and v < lo else f"{v:.4g} > {hi}")

        if q.logs:
            check("machine_log", "log_line_frac", hi=q.max_log_line_frac)
        if q.code:
            check("code_max_line_length", "max_line_len", hi=q.code_max_line_length)
            check("code_mean_line_length", "mean_line_len", hi=q.code_max_mean_line_length)
            check("code_alnum_frac", "alnum_frac", lo=q.code_min_alnum_frac)
        if q.gopher_quality:
            check("gopher_word_count", "words", q.min_words, q.max_words)
            check("gopher_mean_word_length", "mean_word_len", q.min_mean_word_len, q.max_mean_word_len,
                  mask=~measured.no_space)
            check("gopher_symbol_ratio", "symbol_word_ratio", hi=q.max_symbol_word_ratio)
            check("gopher_bullet_lines", "bullet_line_frac", hi=q.max_bullet_line_frac)
            check("gopher_ellipsis_lines", "ellipsis_line_frac", hi=q.max_ellipsis_line_frac)
            check("gopher_alpha_words", "alpha_word_frac", lo=q.min_alpha_word_frac)
            check("gopher_stop_words", "stop_words", lo=q.min_stop_words, mask=m["stop_words"] >= 0)
        if q.gopher_repetition:
            check("dup_line_frac", "dup_line_frac", hi=q.max_dup_line_frac)
            check("dup_para_frac", "dup_para_frac", hi=q.max_dup_para_frac)
            check("dup_line_char_frac", "dup_line_char_frac", hi=q.max_dup_line_char_frac)
            check("dup_para_char_frac", "dup_para_char_frac", hi=q.max_dup_para_char_frac)
            for k, thr in sorted(q.top_ngram_max_frac.items()):
                check(f"top_{k}gram_frac", f"top_{k}gram_frac", hi=thr)
            for k, thr in sorted(q.dup_ngram_max_frac.items()):
                check(f"dup_{k}gram_frac", f"dup_{k}gram_frac", hi=thr)
        if q.c4:
            for i, r in enumerate(measured.c4_reason):
                if r is not None and reasons[i] is None and rows[i]:
                    reasons[i], details[i] = r, "in a line kept by the C4 line rules"
            check("c4_too_few_sentences", "c4_sentences", lo=q.c4_min_sentences)
        if q.fineweb:
            check("fineweb_line_punct", "line_punct_frac", lo=q.min_line_punct_frac)
            check("fineweb_short_lines", "short_line_frac", hi=q.max_short_line_frac)
            check("fineweb_dup_chars", "dup_line_chars_nonl", hi=q.max_dup_line_chars_nonl)
            check("fineweb_list_ratio", "newline_word_ratio", hi=q.max_newline_word_ratio)
        if q.dirty_words:
            check("dirty_words", "dirty_word_ratio", hi=q.max_dirty_word_ratio)

    def decide(self, table: pa.Table) -> Decision:
        measured = self._measure(table)
        n = table.num_rows
        reasons: list[Optional[str]] = [None] * n
        details: list[Optional[str]] = [None] * n
        doms = (np.array([d or "" for d in table.column("domain").to_pylist()], dtype=object)
                if "domain" in table.column_names else np.full(n, "", dtype=object))
        no_space = measured.no_space_script
        for dom in sorted(set(doms)):
            for ns in (False, True):
                rows = (doms == dom) & (no_space == ns)
                if rows.any():
                    self._decide(measured, self.effective(dom, ns), rows, reasons, details)
        columns = {name: (pa.array(values.astype(np.int32), pa.int32()) if values.dtype.kind in "iu"
                          else pa.array(values.astype(np.float32), pa.float32()))
                   for name, values in measured.columns.items()}
        return Decision(reasons, details, columns)
