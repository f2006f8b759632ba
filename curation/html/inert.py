"""Cut a page's scripts, styles and comments out of its text before anything else reads it.

Why: on the 102 dev pages of the ScrapingHub benchmark 51% of the bytes lie in ``<script>``
and ``<style>`` elements and comments (inline JavaScript, JSON state, CSS), and none of it is ever
main text (the extractor drops those elements anyway). Every later pass (the UTF-8 encode, the tag
scan, the block marks, the class/id scan, lexbor's parse) then works on a smaller page.

How: one case-insensitive regex scan finds every ``<script``, ``<style``, ``</script``,
``</style`` and ``<!--`` (C speed; a page has a few hundred), ``bytes.find`` each comment's ``-->``,
and a small state machine
in Python walks them as a parser reads the page: a region starts at ``<script`` or ``<style``
followed by white space, ``/`` or ``>``, or at ``<!--``, and ends after the first end tag of its
kind (its ``>``) or ``-->`` after it; a ``<!--`` inside a script, or a ``<script`` inside a
comment, starts nothing. One ``join`` writes what is kept.

What is left alone, so that nothing but such regions is ever cut:

* a script whose start tag names ``math`` (``<script type="math/tex">``: :mod:`curation.html.math`
  turns it into text);
* everything from a region whose end is not found, or that holds a second start tag of its kind
  before its end (``document.write("<script ...")``: the parser's escaped script states), to
  the end of the page.
"""

from __future__ import annotations

import re

#: Every start of a region and every end tag, in one C scan of the page (all begin with ``<``,
#: which the regex engine searches for fast; a comment's ``-->`` is found by ``bytes.find``).
_EVENTS = re.compile(rb"<(?:(script|style)|/(script|style)|!--)", re.I)
_TAG_END = frozenset(b" \t\n\r\f/>")


def cut_inert(html: bytes) -> bytes:
    """The UTF-8 page ``html`` with its scripts, styles and comments removed (``html`` itself when none is)."""
    out: list[bytes] = []
    kept_from = 0  # start of the text not yet copied
    inside = None  # b"script", b"style" or None
    start = skip_to = 0
    n = len(html)
    for m in _EVENTS.finditer(html):
        at = m.start()
        if at < skip_to:
            continue
        opened, closed = m.group(1), m.group(2)
        if inside is None:
            if opened is not None:
                after = m.end()
                if after >= n or html[after] not in _TAG_END:
                    continue  # <scripts>, <styled-box>: another tag
                inside, start = opened.lower(), at
            elif closed is None:  # "<!--"; "<!-->" and "<!--->" are whole (empty) comments
                close = html.find(b"-->", at + 2)
                if close < 0:
                    break  # the rest of the page is a comment: left to the parser
                out.append(html[kept_from:at])
                kept_from = skip_to = close + 3
        elif opened is not None and opened.lower() == inside:
            break  # a second start tag before the end: where the parser ends the first is not worked out here
        elif closed is not None and closed.lower() == inside and m.end() < n and html[m.end()] in _TAG_END:
            gt = html.find(b">", m.end())
            if gt < 0:
                break
            if inside == b"script" and b"math" in html[start:html.find(b">", start, at) + 1].lower():
                inside = None  # math as TeX: kept
                skip_to = gt + 1
                continue
            out.append(html[kept_from:start])
            kept_from = skip_to = gt + 1
            inside = None
    if not out:
        return html
    out.append(html[kept_from:])
    return b"".join(out)
