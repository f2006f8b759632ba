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

from curation.html.tags import Tags, encode, keys, member, scan

#: Counted tags nested deeper than this are unwrapped (their text stays).
MAX_DEPTH = 100

# Names compared on their first 8 bytes, lower-cased (:mod:`curation.html.tags`).
_NOT_COUNTED = (
    # void elements (HTML Living Standard, 13.1.2)
    "area base br col embed hr img input link meta param source track wbr keygen basefont bgsound frame image isindex"
    # end tag optional, or closed by the parser when a sibling opens (13.1.2.4)
    " p li dt dd tr td th tbody thead tfoot option optgroup rb rt rtc rp colgroup caption html head body"
).split()
_NOT_COUNTED_KEYS = keys(_NOT_COUNTED + ["script", "style"])
_RAW_TEXT_KEYS = keys(["script", "style"])


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


def _depth_changes(tags: Tags):
    """(start, end) byte spans of the counted tags, and +1/-1 for each, in page order.

    Tags inside comments and inside ``script``/``style`` text (where ``i<n`` is code) are skipped.
    """
    buf, all_lt, gt = tags.buf, tags.all_lt, tags.gt
    if tags.lt.size == 0 or gt.size == 0:
        return None
    # comment bounds from the positions already found: "<!--" starts and "-->" ends
    bang = all_lt[(buf[all_lt + 1] == 33) & (all_lt + 3 < len(buf))]
    comment_open = bang[(buf[bang + 2] == 45) & (buf[np.minimum(bang + 3, len(buf) - 1)] == 45)]
    dash = gt[gt >= 2]
    comment_close = dash[(buf[dash - 1] == 45) & (buf[dash - 2] == 45)] - 2
    lt, is_close, names = tags.lt, tags.is_close, tags.keys
    raw = member(names, _RAW_TEXT_KEYS)
    keep = _outside(lt, comment_open, comment_close)
    if raw.any():
        keep &= _outside(lt, lt[raw & ~is_close], lt[raw & is_close])
    counted = keep & ~member(names, _NOT_COUNTED_KEYS)
    end_i = np.searchsorted(gt, lt)
    counted &= end_i < gt.size
    lt, is_close, end = lt[counted], is_close[counted], gt[end_i[counted]]
    self_closed = ~is_close & (buf[np.maximum(end - 1, 0)] == 47)
    lt, is_close, end = lt[~self_closed], is_close[~self_closed], end[~self_closed]
    step = np.where(is_close, -1, 1).astype(np.int64)
    return lt, end, step


def _walk(tags: Tags):
    """(start, end, step, depth) of each counted tag, depth floored at 0 as a parser ignores a
    stray close tag: the floored walk is the running sum minus the lowest negative value so far."""
    found = _depth_changes(tags)
    if found is None:
        return None
    start, end, step = found
    cum = np.cumsum(step)
    return start, end, step, cum - np.minimum(np.minimum.accumulate(cum), 0)


def max_depth(html: str) -> int:
    """The deepest nesting of counted tags on the page."""
    walk = _walk(scan(encode(html)))
    return 0 if walk is None or walk[3].size == 0 else int(walk[3].max())


def flatten_tags(tags: Tags, limit: int = MAX_DEPTH) -> bytes | None:
    """The page of ``tags`` with counted tags nested deeper than ``limit`` cut out, as UTF-8; None
    when none is (the page nests normally)."""
    if tags.lt.size <= limit:  # cannot nest deeper than its number of tags
        return None
    walk = _walk(tags)
    if walk is None or walk[3].size == 0 or walk[3].max() <= limit:
        return None
    start, end, step, depth = walk
    # An open tag is cut when it takes the depth above the bound; a close tag when it comes back
    # down from above it: on a well-nested page these are exactly the pairs of the same element.
    cut = np.where(step > 0, depth > limit, depth - step > limit)
    mark = np.zeros(len(tags.buf) + 1, dtype=np.int32)
    np.add.at(mark, start[cut], 1)
    np.add.at(mark, end[cut] + 1, -1)
    removed = np.cumsum(mark[:-1]) > 0
    return tags.buf[~removed].tobytes()


def flatten_deep_nesting(html: str, limit: int = MAX_DEPTH) -> str:
    """``html`` with counted tags nested deeper than ``limit`` cut out; the page itself when none is."""
    if html.count("<") <= limit:  # cannot nest deeper than its number of tags
        return html
    flat = flatten_tags(scan(encode(html)), limit)
    return html if flat is None else flat.decode("utf-8", "surrogatepass")
