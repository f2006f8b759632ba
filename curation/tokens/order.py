"""The global training order: one seeded 64-bit key per document occurrence.

An occurrence is a (document, copy) pair: the mix repeats a document ``mix_copies`` times, and
each copy is its own occurrence with its own key, so repeats land far apart. The training order is
fixed by the keys alone, so it is the same whatever the number of workers or the order in which
they finish:

* occurrences are dealt into the engine's key partitions (``key mod P``; ``P`` depends only on the
  input size);
* each partition is sorted by key and becomes one index part, named by its smallest key;
* parts follow one another in name order.

That order is a function of the keys only and treats every occurrence alike, and the keys are
independent uniform hashes, so it is a uniformly random permutation of the occurrences (up to
64-bit hash collisions, broken by id then copy). No process holds more than one partition, and no
step needs the total count ``N`` in advance (a Feistel bijection over ``[0, N)`` would: docs/tokens.md).
"""

from __future__ import annotations

import numpy as np

from curation.hashing import hash64


def occurrence_keys(ids: list[str], copies: np.ndarray, seed: int, phase: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per occurrence: (row of the document in ``ids``, copy number), and its key (uint64).

    ``copies[i]`` occurrences of document ``i`` (0: none); keys hash ``seed``, ``phase``, the id and
    the copy number, so the mix and the annealing set draw independent orders."""
    copies = np.asarray(copies, np.int64)
    rows = np.repeat(np.arange(len(ids), dtype=np.int64), copies)
    starts = np.cumsum(copies) - copies
    copy = (np.arange(len(rows), dtype=np.int64) - np.repeat(starts, copies)).astype(np.int32)
    salt = f"tokens\x1f{seed}\x1f{phase}"
    keys = np.fromiter((hash64(f"{ids[r]}\x1f{c}", salt) for r, c in zip(rows.tolist(), copy.tolist())),
                       dtype=np.uint64, count=len(rows))
    return rows, copy, keys


def longest_run(labels: list) -> int:
    """The longest stretch of equal consecutive labels (0 for an empty list)."""
    best = cur = 0
    prev = object()
    for x in labels:
        cur = cur + 1 if x == prev else 1
        prev = x
        best = max(best, cur)
    return best
