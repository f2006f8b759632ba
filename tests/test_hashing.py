"""The package's one hash module: its functions keep the exact bits that ids, dedup keys and
seeded draws of earlier runs were made with (values pinned from the code before the merge of
curation/ids.py's and curation/dedup/hashing.py's helpers)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.hashing import fmix64, hash64, hash_strings, splitmix64

X = np.array([0, 1, 2, 2**63], dtype=np.uint64)


def test_splitmix64_and_fmix64_are_the_two_finalizers_they_were():
    assert splitmix64(X).tolist() == [0, 6238072747940578789, 15839785061582574730, 2720858781877447050]
    assert fmix64(X).tolist() == [0, 12994781566227106604, 4233148493373801447, 10338021812380738707]


def test_hash64_with_and_without_a_seed():
    assert hash64("abc") == 6455300059550759896
    assert hash64("abc", "seed") == 14532396815312163137
    assert hash64("abc", "seed") == hash64("seed\x1fabc")


def test_hash_strings_is_stable():
    assert hash_strings(pa.array(["", "a", "héllo"])).tolist() == [
        13258805574571075079, 4697539968716843747, 1916444817392961603]


def test_fmix64_does_not_modify_its_input():
    x = X.copy()
    fmix64(x)
    assert x.tolist() == X.tolist()
