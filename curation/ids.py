"""Stable document ids (docs/architecture.md, principle 5): a 64-bit BLAKE2b of the record's identity."""

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
