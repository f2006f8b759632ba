"""The token-frequency prior (curation/text/token_prior.py) on real text from the bundled sample."""

from __future__ import annotations

import collections
import math

import numpy as np
import pyarrow as pa

from curation.text import token_prior as tp
from curation.text.words import split_words

B = 1 << tp.BUCKETS_LOG2


def _reference(texts: list[str], groups: list[str]) -> list[float]:
    """The module docstring's formula, with dictionaries (no hashing)."""
    words = [split_words(t) for t in texts]
    counts = {g: collections.Counter() for g in groups}
    for w, g in zip(words, groups):
        counts[g].update(w)
    out = []
    for w, g in zip(words, groups):
        if not w:
            out.append(math.nan)
            continue
        own = collections.Counter(w)
        n = sum(counts[g].values()) - len(w)
        out.append(sum(math.log((counts[g][x] - own[x] + 1) / (n + B)) for x in w) / len(w))
    return out


def test_matches_the_formula_on_real_text(ccnet_sample, udhr_sample):
    texts = ccnet_sample + [r["text"] for r in udhr_sample[:12]] + [""]
    groups = ["general"] * len(ccnet_sample) + ["multilingual"] * 12 + ["general"]
    got = tp.table_scores(pa.array(texts), groups)
    want = _reference(texts, groups)
    assert np.isnan(got[-1]) and math.isnan(want[-1])
    # 2**20 buckets: a few rare words of the ~12k distinct ones share a bucket (birthday bound), which
    # moves a score by well under 1%; a wrong formula (no leave-one-out, another smoothing) moves it by more
    np.testing.assert_allclose(got[:-1], want[:-1], rtol=1e-2)


def test_typical_text_of_the_group_ranks_above_a_stray_language(ccnet_sample, udhr_sample):
    # ten English CCNet pages and one UDHR translation (Hausa) in the same group: the stray one is
    # least typical; put in a group of its own, it leaves the others' scores as they were
    hausa = next(r["text"] for r in udhr_sample if r["id"] == "udhr-hau_3")
    texts = ccnet_sample + [hausa]
    s = tp.table_scores(pa.array(texts), ["general"] * len(texts))
    assert s[-1] < s[:-1].min()
    alone = tp.table_scores(pa.array(texts), ["general"] * len(ccnet_sample) + ["other"])
    np.testing.assert_allclose(alone[:-1], tp.table_scores(pa.array(ccnet_sample), ["general"] * len(ccnet_sample)),
                               rtol=2e-3)  # up to the few words whose buckets collide across groups
    # leave-one-out: a document alone in its group has no corpus but itself, so every word is unseen
    assert abs(alone[-1] / math.log(1 / B) - 1) < 1e-3  # up to collisions with the other group


def test_leave_one_out_keeps_a_long_document_from_being_typical_of_itself(ccnet_sample, udhr_sample):
    # a long UDHR translation among short English pages: without leave-one-out its own words would
    # dominate the group's counts in its favour
    long_doc = max((r["text"] for r in udhr_sample), key=len)
    texts = ccnet_sample + [long_doc]
    b, doc_of = tp.group_buckets(pa.array(texts), ["g"] * len(texts))
    counts = np.bincount(b, minlength=B).astype(np.float64)
    totals = np.full(len(texts), float(len(b)))
    loo = tp.scores(b, doc_of, len(texts), counts, totals)
    with_self = np.array([np.log((counts[b[doc_of == i]] + 1) / (len(b) + B)).mean() for i in range(len(texts))])
    assert with_self[-1] > loo[-1]
    assert loo[-1] < loo[:-1].min()


def test_counts_add_over_shards(ccnet_sample):
    # the corpus table is additive: per-shard bincounts summed equal the whole corpus's
    b_all, _ = tp.group_buckets(pa.array(ccnet_sample), ["g"] * len(ccnet_sample))
    parts = [tp.group_buckets(pa.array(ccnet_sample[i::3]), ["g"] * len(ccnet_sample[i::3]))[0] for i in range(3)]
    whole = np.bincount(b_all, minlength=B)
    summed = sum(np.bincount(p, minlength=B) for p in parts)
    assert (whole == summed).all() and whole.sum() > 1000
