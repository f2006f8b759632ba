"""Normalization, shingles, signatures and LSH on real text (the bundled sample)."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pyarrow as pa
import pytest

from curation.hashing import hash_strings, ids_to_u64, u64_to_ids
from curation.dedup.minhash import MinHasher, candidate_probability, jaccard_estimate, threshold
from curation.dedup.synth import jaccard, perturb, shingle_set
from curation.dedup.text import normalize, shingles, tokens


def _texts(sample_dir, name):
    return [json.loads(l)["text"] for l in gzip.open(sample_dir / "text" / name)]


@pytest.fixture(scope="module")
def english(sample_dir):
    return [t for t in _texts(sample_dir, "ccnet_cc_en_head-0091.jsonl.gz") if len(t.split()) > 60]


@pytest.fixture(scope="module")
def udhr(sample_dir):
    return [json.loads(l) for l in gzip.open(sample_dir / "text" / "udhr_60.jsonl.gz")]


def test_normalization_folds_case_width_punctuation_and_space():
    a, b = "Hello, World!  Ｆｕｌｌ-width\ttext…", "hello world full width text"
    assert tokens([a])[0].tolist() == tokens([b])[0].tolist()
    assert normalize(["ÉCOLE"]).to_pylist() == ["école"]


def test_hash_strings_is_stable_and_matches_per_item():
    words = ["", "a", "ab", "日本語", "x" * 1000, None]
    batch = hash_strings(pa.array(words, pa.large_string()))
    one = [int(hash_strings(pa.array([w], pa.string()))[0]) for w in words]
    assert batch.tolist() == one
    assert batch[0] == batch[-1]  # null hashes like the empty string
    assert len(set(batch[:5].tolist())) == 5
    ids = ["00ff00ff00ff00ff", "ffffffffffffffff", "0000000000000000"]
    assert u64_to_ids(ids_to_u64(ids)) == ids


def test_spaceless_scripts_give_character_shingles(udhr):
    by_lang = {r["lang_hint"].split("-")[0]: r["text"] for r in udhr}
    for lang in ("ja", "zh", "th"):
        text = next((t for k, t in by_lang.items() if k == lang), None)
        if text is None:
            continue
        toks, offs = tokens([text])
        # a character per token: thousands of tokens, not a handful of "words"
        assert len(toks) > len(text.split()) * 3, lang
        assert len(shingle_set(text)) > 500, lang
    ja = "本日は晴天なり。明日は雨が降るでしょう。"
    toks, _ = tokens([ja])
    assert len(toks) == len([c for c in ja if c not in "。"])


def test_short_documents_get_one_shingle_and_empty_none():
    toks, offs = tokens(["one two", "", "a b c d e f", "   ...  "])
    sh, doc = shingles(toks, offs, 5)
    assert doc.tolist() == [0, 2, 2]
    assert MinHasher().signatures(["", "!!!"])[1].tolist() == [False, False]


def test_signature_estimates_jaccard_of_real_near_duplicates(english):
    """Near-duplicates of real pages (boilerplate, ~10% words changed, truncation): the MinHash
    estimate tracks the exact Jaccard of our shingles within the sampling error of 112 hashes."""
    rng = random.Random(3)
    h = MinHasher()
    errors = []
    for text in english:
        for kw in ({"change": 0.0}, {"change": 0.03}, {"change": 0.10}, {"change": 0.05, "truncate": 0.3}):
            other = perturb(text, rng, **kw)
            sig, _ = h.signatures([text, other])
            errors.append(jaccard_estimate(sig[0], sig[1]) - jaccard(text, other))
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.03
    assert np.abs(errors).max() < 4 * np.sqrt(0.25 / 112) + 0.01


def test_signatures_do_not_depend_on_batch_composition(english, udhr):
    h = MinHasher()
    texts = english + [r["text"] for r in udhr[:10]]
    alone = np.stack([h.signatures([t])[0][0] for t in texts])
    together = h.signatures(texts)[0]
    assert (alone == together).all()


def test_lsh_candidates_match_datasketch_on_same_shingles(english, udhr):
    """Same shingle sets, same bands x rows: our candidate pairs against datasketch's MinHashLSH.
    Hash functions differ, so pairs near the threshold may differ; clear pairs must agree."""
    datasketch = pytest.importorskip("datasketch")
    rng = random.Random(5)
    docs = []
    for t in english:
        docs += [t, perturb(t, rng, change=0.02), perturb(t, rng, change=0.35)]
    docs += [r["text"] for r in udhr[:20]]
    h = MinHasher()
    sig, has = h.signatures(docs)
    keys = h.band_keys(sig)
    ours = set()
    for b in range(h.bands):
        buckets = {}
        for i, k in enumerate(keys[:, b]):
            if has[i]:
                buckets.setdefault(int(k), []).append(i)
        for members in buckets.values():
            ours.update((a, c) for a in members for c in members if a < c)
    lsh = datasketch.MinHashLSH(num_perm=112, params=(14, 8))
    theirs = set()
    sets = [shingle_set(d) for d in docs]
    for i, s in enumerate(sets):
        m = datasketch.MinHash(num_perm=112)
        m.update_batch([int(x).to_bytes(8, "little") for x in s])
        for j in lsh.query(m):
            theirs.add((int(j), i))
        lsh.insert(str(i), m)
    theirs = {(int(a), b) for a, b in theirs}
    clear = {(a, b) for a in range(len(docs)) for b in range(a + 1, len(docs))
             if len(sets[a] | sets[b]) and len(sets[a] & sets[b]) / len(sets[a] | sets[b]) > 0.85}
    assert clear and clear <= ours and clear <= theirs
    far = {(a, b) for (a, b) in ours | theirs
           if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) < 0.4}
    assert not far


def test_threshold_curve():
    assert abs(threshold(14, 8) - 0.719) < 0.001
    p = candidate_probability([0.5, 0.8, 0.9])
    assert p[0] < 0.06 and 0.9 < p[1] < 0.95 and p[2] > 0.999


def test_chunked_hashing_matches_one_pass(monkeypatch, udhr):
    from curation import hashing

    texts = ["", ""] + [r["text"] for r in udhr[:6]] + ["", "x"]
    arr = pa.array(texts, pa.large_string())
    whole = hashing.hash_strings(arr)
    monkeypatch.setattr(hashing, "CHUNK_BYTES", 3000)
    assert hashing.hash_strings(arr).tolist() == whole.tolist()
