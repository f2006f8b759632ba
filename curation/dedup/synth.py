"""Near-duplicates made from real text, for tests and benchmarks (never used by the pipeline).

:func:`perturb` applies what crawls do to copies of a page: boilerplate lines inserted (a cookie
banner, a navigation bar), a fraction of words replaced, and truncation. Deterministic given the
``random.Random`` passed in.
"""

from __future__ import annotations

import random

BOILERPLATE = [
    "Home | About us | Contact | Privacy policy | Terms of use",
    "We use cookies to improve your experience. By continuing you accept our use of cookies.",
    "Share this article on Facebook Twitter LinkedIn Email",
    "Subscribe to our newsletter for the latest updates",
    "Copyright 2024 All rights reserved",
]


def perturb(text: str, rng: random.Random, change: float = 0.10, boilerplate: int = 2,
            truncate: float = 0.0) -> str:
    """Replace ``change`` of the words (with words of the same text, shuffled), insert
    ``boilerplate`` boilerplate lines at random line breaks, and cut the last ``truncate`` of it."""
    lines = text.split("\n")
    words = text.split()
    out_lines = []
    for line in lines:
        toks = line.split(" ")
        for i in range(len(toks)):
            if toks[i] and rng.random() < change:
                toks[i] = rng.choice(words) if words else toks[i]
        out_lines.append(" ".join(toks))
    for _ in range(boilerplate):
        out_lines.insert(rng.randrange(len(out_lines) + 1), rng.choice(BOILERPLATE))
    out = "\n".join(out_lines)
    if truncate > 0:
        out = out[: int(len(out) * (1 - truncate))]
    return out


def shingle_set(text: str, n: int = 5) -> set:
    """The exact shingle set the MinHash stage uses, as hashes (for true Jaccard)."""
    from curation.dedup.text import shingles, tokens

    toks, offs = tokens([text])
    sh, _ = shingles(toks, offs, n)
    return set(sh.tolist())


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = shingle_set(a, n), shingle_set(b, n)
    return len(sa & sb) / max(1, len(sa | sb))
