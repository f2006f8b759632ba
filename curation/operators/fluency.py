"""fluency: drop junk that passes the rule-based filters: random tokens, word salad, Markov-chain
text, unknown words and mojibake (map stage, no model download).

The signals are those of :mod:`curation.text.fluency`; each is written as a column for every
document (``known_word_frac``, ``pair_recurrence``, ``unique_word_frac``, ``mojibake_rate``,
float32; NaN where not measured), and a document of a judged domain fails on the first rule below.
Why these signals and not others (a reference n-gram model, a bigger classifier) is in
docs/quality.md, with the measurements.

Rules (thresholds calibrated by us with ``bench/fluency_calibration.py`` on real text: WikiText-2,
the AEB news bodies, CCNet documents, GSM8K worked answers, real Python source and all 532 UDHR
translations, against generated junk; the figures are in docs/quality.md):

* ``random_tokens``: ``unique_word_frac`` > 0.95 over the first 300 words (of documents with at
  least ``min_words`` words): no word comes back. Real text of any language measured at most 0.89
  outside scripts without spaces (UDHR, 528 translations), random letter strings 0.98-1.0.
* ``unknown_words``: ``known_word_frac`` < 0.25 (the share of words in wordfreq's list of the
  document's language; only for languages with a list). Real text 0.30-1.0 even when the language
  stage took a related language for it (Krio read as English: 0.45), random strings 0.22 or less.
* ``incoherent``: ``pair_recurrence`` < 0.15, ``unique_prefix_frac`` > 0.60 and
  ``content_recurrence`` < 0.10 (documents of at least ``min_words`` words): words come back without
  their neighbours, the vocabulary keeps growing and the long words never return to a topic. Word
  salad and Markov-chain text measured content_recurrence 0.055 at the median; real articles 0.24-0.37
  at the median. Without the content-word test (until issue 23) the box also held short real
  articles (100-300 words: few repeats, so a low pair_recurrence): 41 of 780 of trafilatura's web
  pages and 6 of 141 AEB pages; with it 15 and 2.
* ``mojibake``: ``mojibake_rate`` > 1.0 per 1,000 characters. Real text measured 0 (one UDHR
  translation 7.4), text decoded with the wrong codec 0.8-45.

``domains`` says which domains are judged (default: every domain but code, whose identifiers are
not dictionary words and whose lines repeat by design; code has its own rules in ``heuristics``).
Without a ``domain`` column every document is judged. Documents mostly in scripts without spaces
that the word splitter does not segment (Lao, Khmer, Myanmar, ...) are not judged by the
word-repetition rules (``random_tokens``, ``incoherent``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation import schema
from curation.operators.base import Params, in_domains
from curation.operators.filter import Decision, Filter
from curation.text import fluency
from curation.text.words import split_words_column

COLUMNS = ("known_word_frac", "pair_excess", "pair_recurrence", "unique_word_frac", "unique_prefix_frac",
           "content_recurrence", "mojibake_rate")


class FluencyParams(Params):
    #: domains judged (documents of other domains are measured, never rejected); None: all
    domains: Optional[list[str]] = ["general", "math", "multilingual", "undetermined"]
    #: domains judged by the word-order rules (``word_salad``, ``incoherent``); None: all judged
    #: domains. Worked math answers repeat numbers and formulas, not phrases: not judged by default.
    order_domains: Optional[list[str]] = ["general", "multilingual", "undetermined"]
    #: documents with fewer words are not judged by the word-repetition rules (Gopher's minimum
    #: document length is 50 words; the repetition measures need about twice that to be stable)
    min_words: int = Field(100, ge=1)
    max_unique_word_frac: Optional[float] = 0.95
    min_known_word_frac: Optional[float] = 0.25
    min_pair_excess: Optional[float] = 1.5
    #: ... and a stricter pair_excess limit for documents whose pair_recurrence is also low
    low_recurrence_pair_excess: float = 2.0
    low_pair_recurrence: float = 0.12
    min_pair_recurrence: Optional[float] = 0.15
    #: the ``incoherent`` rule applies only above this distinct-prefix share (see the docstring)
    incoherent_unique_prefix_frac: float = 0.60
    #: ... and only below this content-word recurrence: the text does not come back to its topic
    max_content_recurrence: float = 0.10
    #: characters kept of each word for pair_recurrence / unique_prefix_frac (a crude stemmer)
    prefix_chars: int = Field(4, ge=1)
    max_mojibake_rate: Optional[float] = 1.0
    #: words looked at by the pair measures / the distinct-word shares (the head of the document)
    max_words: int = Field(1000, ge=10)
    ttr_words: int = Field(300, ge=10)


class Fluency(Filter):
    name = "fluency"
    provides = COLUMNS
    Params = FluencyParams

    def measure(self, table: pa.Table) -> dict[str, np.ndarray]:
        p: FluencyParams = self.params
        texts = table.column(schema.TEXT)
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        texts = pc.fill_null(texts.cast(pa.large_string()), "")
        n = len(texts)
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [""] * n
        words, offsets = split_words_column(texts)
        stems = fluency.prefixes(words, p.prefix_chars)
        return {
            "words": np.diff(offsets),
            "spaceless": fluency.spaceless(texts),
            "known_word_frac": fluency.known_word_frac(words, offsets, langs),
            "pair_excess": fluency.pair_excess(words, offsets, p.max_words),
            "pair_recurrence": fluency.pair_recurrence(stems, offsets, p.max_words),
            "unique_word_frac": fluency.unique_word_frac(words, offsets, p.ttr_words),
            "unique_prefix_frac": fluency.unique_word_frac(stems, offsets, p.ttr_words),
            "content_recurrence": fluency.content_recurrence(words, offsets, p.ttr_words),
            "mojibake_rate": fluency.mojibake_rate(texts.to_pylist()),
        }

    def decide(self, table: pa.Table) -> Decision:
        p: FluencyParams = self.params
        n = table.num_rows
        m = self.measure(table)
        judged = in_domains(table, p.domains)
        long_enough = judged & (m["words"] >= p.min_words) & ~m["spaceless"]
        ordered = in_domains(table, p.order_domains)  # judged by the word-order rules (word_salad, incoherent)
        reasons: list[Optional[str]] = [None] * n
        details: list[Optional[str]] = [None] * n

        def fail(name: str, bad: np.ndarray, fmt) -> None:
            for i in np.flatnonzero(bad):
                if reasons[i] is None:
                    reasons[i], details[i] = name, fmt(i)

        uw, kw, mj = m["unique_word_frac"], m["known_word_frac"], m["mojibake_rate"]
        px, pr, up, cr = m["pair_excess"], m["pair_recurrence"], m["unique_prefix_frac"], m["content_recurrence"]
        if p.max_unique_word_frac is not None:
            fail("random_tokens", long_enough & (uw > p.max_unique_word_frac),
                 lambda i: f"unique_word_frac {uw[i]:.3f} > {p.max_unique_word_frac}")
        if p.min_known_word_frac is not None:
            with np.errstate(invalid="ignore"):
                low = judged & (kw < p.min_known_word_frac)
            fail("unknown_words", low, lambda i: f"known_word_frac {kw[i]:.3f} < {p.min_known_word_frac}")
        if p.min_pair_excess is not None:
            with np.errstate(invalid="ignore"):
                # NaN (too little evidence) is never salad
                salad = (px < p.min_pair_excess) | ((px < p.low_recurrence_pair_excess) & (pr < p.low_pair_recurrence))
            fail("word_salad", long_enough & ordered & salad,
                 lambda i: f"pair_excess {px[i]:.3f}, pair_recurrence {pr[i]:.3f}")
        if p.min_pair_recurrence is not None:
            with np.errstate(invalid="ignore"):  # NaN content_recurrence (too few long words): not judged
                box = (pr < p.min_pair_recurrence) & (up > p.incoherent_unique_prefix_frac) & (cr < p.max_content_recurrence)
            fail("incoherent", long_enough & ordered & box,
                 lambda i: (f"pair_recurrence {pr[i]:.3f} < {p.min_pair_recurrence} with unique_prefix_frac "
                            f"{up[i]:.3f} > {p.incoherent_unique_prefix_frac} and content_recurrence {cr[i]:.3f} < "
                            f"{p.max_content_recurrence}"))
        if p.max_mojibake_rate is not None:
            fail("mojibake", judged & (mj > p.max_mojibake_rate),
                 lambda i: f"mojibake_rate {mj[i]:.2f} > {p.max_mojibake_rate} per 1000 chars")

        return Decision(reasons, details, {name: pa.array(m[name].astype(np.float32), pa.float32()) for name in COLUMNS})
