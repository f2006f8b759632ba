"""Bound the nesting depth of a page before any parser sees it: a linear, vectorized pre-pass.

Why: lxml (libxml2, under trafilatura) stops building the tree at depth 256 ("Excessive depth in
document"), so a page of 50,000 nested ``<div>``s loses every paragraph below that depth and
extracts to nothing; resiliparse's extractor is superlinear in depth (281 s on that page, in C code
that a SIGALRM cannot interrupt). Real pages nest far less: ``MAX_DEPTH`` (100 counted tags) is
well above the deepest of the 1,035 pages of ``../shared/data/html_extraction`` (54) and leaves
room under lxml's 256 for the tags we do not count.

How: numpy over the page's bytes, no Python loop over tags. Every ``<name`` and ``</name`` is
found; void elements (``br``, ``img``, ...), elements whose end tag is optional (``p``, ``li``,
``td``, ...; the parser closes them itself) and self-closed tags (``<path/>``) are not counted; the
running sum of +1 per counted open and -1 per counted close is the depth. When it never exceeds
``MAX_DEPTH`` (a page that nests normally) the page is returned untouched; otherwise the open tags
above the bound and the close tags that match them are cut out, keeping all the text.

Cost: one encode and a few array passes over the positions of ``<`` and ``>``: about 0.6 ms a page
on the 1,035 pages of ``../shared/data/html_extraction`` (155 kB on average; 2% of a trafilatura
call, but half again a bare resiliparse call: see ``bench/extract.py``). The cut itself runs only
on deep pages and is linear in their size (50,000 nested divs: about 40 ms).
"""

from __future__ import annotations

import numpy as np

#: Counted tags nested deeper than this are unwrapped (their text stays).
MAX_DEPTH = 100

# Names compared on their first 8 bytes, lower-cased (longer names are not in these sets).
_NOT_COUNTED = (
    # void elements (HTML Living Standard, 13.1.2)
    "area base br col embed hr img input link meta param source track wbr keygen basefont bgsound frame image isindex"
    # end tag optional, or closed by the parser when a sibling opens (13.1.2.4)
    " p li dt dd tr td th tbody thead tfoot option optgroup rb rt rtc rp colgroup caption html head body"
).split()
_WINDOW = 8


def _keys(names: list[str]) -> np.ndarray:
    out = np.zeros((len(names), _WINDOW), dtype=np.uint8)
    for i, n in enumerate(names):
        b = n.encode()[:_WINDOW]
        out[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    return np.sort(out.view(np.uint64).ravel())


def _member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin`` for a small sorted set, by binary search (three times faster here)."""
    at = np.minimum(np.searchsorted(sorted_set, keys), sorted_set.size - 1)
    return sorted_set[at] == keys


_NOT_COUNTED_KEYS = _keys(_NOT_COUNTED + ["script", "style"])
_RAW_TEXT_KEYS = _keys(["script", "style"])
_NAME_CHAR = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyz0123456789-_:":
    _NAME_CHAR[_c] = True
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32


def _tag_keys(buf: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each tag name beginning at ``starts``, lower-cased, zero-padded."""
    idx = np.minimum(starts[:, None] + np.arange(_WINDOW), len(buf) - 1)
    window = _LOWER[buf[idx]]
    in_name = np.logical_and.accumulate(_NAME_CHAR[window], axis=1)
    window = np.where(in_name, window, 0).astype(np.uint8)
    return np.ascontiguousarray(window).view(np.uint64).ravel()


def _outside(lt: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """For each offset in ``lt``, whether it lies outside every (open, close) region (non-nesting)."""
    if opens.size == 0:
        return np.ones(lt.shape, dtype=bool)
    if closes.size == 0:
        return lt <= opens[0]
    last_open = np.searchsorted(opens, lt, side="right") - 1
    last_open_at = np.where(last_open >= 0, opens[np.maximum(last_open, 0)], -1)
    last_close = np.searchsorted(closes, lt, side="left") - 1  # a close at lt itself ends its region
    last_close_at = np.where(last_close >= 0, closes[np.maximum(last_close, 0)], -1)
    return (last_open_at < 0) | (last_close_at > last_open_at) | (last_open_at == lt)


def _depth_changes(buf: np.ndarray):
    """(start, end) byte spans of the counted tags, and +1/-1 for each, in page order.

    Tags inside comments and inside ``script``/``style`` text (where ``i<n`` is code) are skipped.
    """
    lt = np.flatnonzero(buf[:-1] == 60)  # '<'
    gt = np.flatnonzero(buf == 62)  # '>'
    if lt.size == 0 or gt.size == 0:
        return None
    # comment bounds from the positions already found: "<!--" starts and "-->" ends
    bang = lt[(buf[lt + 1] == 33) & (lt + 3 < len(buf))]
    comment_open = bang[(buf[bang + 2] == 45) & (buf[np.minimum(bang + 3, len(buf) - 1)] == 45)]
    dash = gt[gt >= 2]
    comment_close = dash[(buf[dash - 1] == 45) & (buf[dash - 2] == 45)] - 2
    nxt = _LOWER[buf[lt + 1]]
    is_close = nxt == 47  # '/'
    name_at = np.where(is_close, lt + 2, lt + 1)
    first = _LOWER[buf[np.minimum(name_at, len(buf) - 1)]]
    named = (first >= 97) & (first <= 122) & (name_at < len(buf))
    lt, is_close, name_at = lt[named], is_close[named], name_at[named]
    keys = _tag_keys(buf, name_at)
    raw = _member(keys, _RAW_TEXT_KEYS)
    keep = _outside(lt, comment_open, comment_close)
    if raw.any():
        keep &= _outside(lt, lt[raw & ~is_close], lt[raw & is_close])
    counted = keep & ~_member(keys, _NOT_COUNTED_KEYS)
    end_i = np.searchsorted(gt, lt)
    counted &= end_i < gt.size
    lt, is_close, end = lt[counted], is_close[counted], gt[end_i[counted]]
    self_closed = ~is_close & (buf[np.maximum(end - 1, 0)] == 47)
    lt, is_close, end = lt[~self_closed], is_close[~self_closed], end[~self_closed]
    step = np.where(is_close, -1, 1).astype(np.int64)
    return lt, end, step


def _walk(buf: np.ndarray):
    """(start, end, step, depth) of each counted tag, depth floored at 0 as a parser ignores a
    stray close tag: the floored walk is the running sum minus the lowest negative value so far."""
    found = _depth_changes(buf)
    if found is None:
        return None
    start, end, step = found
    cum = np.cumsum(step)
    return start, end, step, cum - np.minimum(np.minimum.accumulate(cum), 0)


def max_depth(html: str) -> int:
    """The deepest nesting of counted tags on the page."""
    walk = _walk(np.frombuffer(html.encode("utf-8", "surrogatepass"), dtype=np.uint8))
    return 0 if walk is None or walk[3].size == 0 else int(walk[3].max())


def flatten_deep_nesting(html: str, limit: int = MAX_DEPTH) -> str:
    """``html`` with counted tags nested deeper than ``limit`` cut out; the page itself when none is."""
    if html.count("<") <= limit:  # cannot nest deeper than its number of tags
        return html
    buf = np.frombuffer(html.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    walk = _walk(buf)
    if walk is None or walk[3].size == 0 or walk[3].max() <= limit:
        return html
    start, end, step, depth = walk
    # An open tag is cut when it takes the depth above the bound; a close tag when it comes back
    # down from above it: on a well-nested page these are exactly the pairs of the same element.
    cut = np.where(step > 0, depth > limit, depth - step > limit)
    mark = np.zeros(len(buf) + 1, dtype=np.int32)
    np.add.at(mark, start[cut], 1)
    np.add.at(mark, end[cut] + 1, -1)
    removed = np.cumsum(mark[:-1]) > 0
    return buf[~removed].tobytes().decode("utf-8", "surrogatepass")
