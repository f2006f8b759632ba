"""One vectorized scan of a page's tags (numpy over its UTF-8 bytes, no Python loop over tags).

Shared by the nesting bound (:mod:`curation.html.nesting`) and the block marks
(:mod:`curation.html.blocks`): one encode, one search for ``<`` and ``>``, one read of each tag's
name, whatever uses them.

A tag is a ``<`` followed by a letter (a start tag) or by ``/`` and a letter (an end tag); its name
is compared on its first 8 bytes, lower-cased, zero-padded after the last name character (so
``<a`` and ``<abbr`` differ, and ``<a href`` and ``<a>`` agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

WINDOW = 8

_NAME_CHAR = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyz0123456789-_:":
    _NAME_CHAR[_c] = True
LOWER = np.arange(256, dtype=np.uint8)
LOWER[65:91] += 32


def keys(names) -> np.ndarray:
    """The sorted 8-byte keys of ``names`` (as :func:`scan` reads a tag's name)."""
    names = list(names)
    out = np.zeros((len(names), WINDOW), dtype=np.uint8)
    for i, n in enumerate(names):
        b = n.encode()[:WINDOW]
        out[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    return np.sort(out.view(np.uint64).ravel())


def member(found: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin`` for a small sorted set, by binary search (three times faster here)."""
    at = np.minimum(np.searchsorted(sorted_set, found), sorted_set.size - 1)
    return sorted_set[at] == found


@dataclass(slots=True)
class Tags:
    """The tags of one page: ``buf`` its bytes; per tag the offset of its ``<``, whether it is an
    end tag and its name key; ``all_lt``/``gt`` every ``<``/``>`` offset (comments are found from them)."""

    buf: np.ndarray
    lt: np.ndarray
    is_close: np.ndarray
    keys: np.ndarray
    all_lt: np.ndarray
    gt: np.ndarray

    def ends(self) -> np.ndarray:
        """The offset of the ``>`` closing each tag (-1 where the page ends first)."""
        if self.gt.size == 0:
            return np.full(self.lt.shape, -1)
        at = np.searchsorted(self.gt, self.lt)
        return np.where(at < self.gt.size, self.gt[np.minimum(at, self.gt.size - 1)], -1)


def present(tags: Tags, names: tuple[str, ...]) -> frozenset[str]:
    """Which of ``names`` (tag names, compared as :func:`keys` reads them) open at least once on the page.

    Lets a caller leave out of a selector the tags a page does not have: every lexbor query walks
    the whole tree, and a query for tags that are not there costs as much as one that finds them.
    """
    wanted, by_key = _vocabulary(names)
    found = tags.keys[member(tags.keys, wanted) & ~tags.is_close]
    return frozenset(by_key[k] for k in np.unique(found).tolist())


@lru_cache(maxsize=64)
def _vocabulary(names: tuple[str, ...]) -> tuple[np.ndarray, dict[int, str]]:
    return keys(names), {int(keys([n])[0]): n for n in names}


def _name_keys(buf: np.ndarray, starts: np.ndarray) -> np.ndarray:
    idx = np.minimum(starts[:, None] + np.arange(WINDOW), len(buf) - 1)
    window = LOWER[buf[idx]]
    in_name = np.logical_and.accumulate(_NAME_CHAR[window], axis=1)
    window = np.where(in_name, window, 0).astype(np.uint8)
    return np.ascontiguousarray(window).view(np.uint64).ravel()


def encode(html: str) -> np.ndarray:
    return np.frombuffer(html.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def scan(buf: np.ndarray) -> Tags:
    all_lt = np.flatnonzero(buf[:-1] == 60)  # '<'
    gt = np.flatnonzero(buf == 62)  # '>'
    is_close = buf[all_lt + 1] == 47  # '/'
    name_at = np.where(is_close, all_lt + 2, all_lt + 1)
    first = LOWER[buf[np.minimum(name_at, len(buf) - 1)]]
    named = (first >= 97) & (first <= 122) & (name_at < len(buf))
    lt, is_close, name_at = all_lt[named], is_close[named], name_at[named]
    return Tags(buf, lt, is_close, _name_keys(buf, name_at), all_lt, gt)
