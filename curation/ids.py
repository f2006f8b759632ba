"""Stable document ids (DESIGN.md principle 5): a 64-bit BLAKE2b of the record's identity."""

from __future__ import annotations

import hashlib


def stable_id(*parts: str | bytes | None) -> str:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        if p is None:
            p = b""
        elif isinstance(p, str):
            p = p.encode("utf-8", "surrogatepass")
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def hash64(text: str, seed: str = "") -> int:
    """A 64-bit BLAKE2b hash of a string as an unsigned int (keys of global stages, sampling).

    With a ``seed`` the hash is of ``seed + "\\x1f" + text``, so independent decisions (sampling,
    splits) can draw from the same ids without correlating.
    """
    data = (f"{seed}\x1f{text}" if seed else text).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def mix64(x):
    """splitmix64 finalizer over a numpy array: spreads small integers over 64 bits."""
    import numpy as np

    x = np.asarray(x).astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))
