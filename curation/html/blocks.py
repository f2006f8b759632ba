"""Block and link markers: the page's structure carried through ONE C-level ``text()`` call.

Before parsing, one regex split of the page writes control characters before the start and end
tags of block-level elements, around links and around ``<pre>`` content (:func:`mark`). Lexbor's ``node.text()`` then returns the whole container's text in C with the marks in
place, and Python splits it into blocks and measures each one's length and link density on plain
strings: no Python walk of the tree, no Python object per node.

Marks: ``BLOCK`` between blocks, ``HEADING`` at the start of a heading, ``LINK_OPEN``/``LINK_CLOSE``
around link text, ``PRE_OPEN``/``PRE_CLOSE`` around preformatted text (its newlines and indentation
are kept verbatim: code). A page's own characters U+0001-U+0006 are removed first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINK_OPEN, LINK_CLOSE, BLOCK, PRE_OPEN, PRE_CLOSE, HEADING = "\x01", "\x02", "\x03", "\x04", "\x05", "\x06"
_OWN_MARKS = re.compile("[\x01-\x06]")

# Block-level elements (HTML Living Standard "flow content" that starts a new line in a browser).
_BLOCK_TAGS = (
    "p|div|section|article|main|li|ul|ol|dl|dt|dd|blockquote|table|tr|td|th|caption|figure|figcaption"
    "|address|center|details|summary|header|footer|nav|aside|form|fieldset|legend|hr|tbody|thead|tfoot|br"
)
# One split per page: the captured pieces are the ``<tag``/``</tag`` prefixes of block tags, headings,
# links and ``pre``. Lower case is the fast path; a page with upper-case tags takes the other.
_SPLIT = re.compile(rf"(</?(?:{_BLOCK_TAGS}|h[1-6]|a|pre)(?=[\s/>]))")
_SPLIT_ANY_CASE = re.compile(_SPLIT.pattern, re.I)
_UPPER_TAG = re.compile(r"</?[A-Z]")
# The mark written before each kind of tag (every other block tag: BLOCK). A link's closing mark
# lies inside the ``<a>``, the heading mark just before the heading's first text.
_MARKS = {"<a": LINK_OPEN, "</a": LINK_CLOSE, "<pre": BLOCK + PRE_OPEN, "</pre": PRE_CLOSE + BLOCK,
          **{f"<h{i}": BLOCK + HEADING for i in range(1, 7)}}
_PRE_SPLIT = re.compile(f"{PRE_OPEN}(.*?)(?:{PRE_CLOSE}|$)", re.S)
_IN_PRE = re.compile(f"[{LINK_OPEN}{LINK_CLOSE}{HEADING}]")


def mark(html: str) -> str:
    """``html`` with the marks written in: one regex split and one join (each string pass over a
    non-ASCII page costs about 0.4 ms, so there is one).

    Marks go just before a tag (``\x03<p``, ``\x03</p``): an end tag's mark lies inside its element,
    so the parser never moves it out of a table cell; a start tag's mark lies in the parent, where
    it only ever marks a boundary.
    """
    if any(c in html for c in "\x01\x02\x03\x04\x05\x06"):
        html = _OWN_MARKS.sub("", html)
    if _UPPER_TAG.search(html) is None:
        parts = _SPLIT.split(html)
        parts[1::2] = [_MARKS.get(t, BLOCK) + t for t in parts[1::2]]
    else:
        parts = _SPLIT_ANY_CASE.split(html)
        parts[1::2] = [_MARKS.get(t.lower(), BLOCK) + t for t in parts[1::2]]
    return "".join(parts)


@dataclass(slots=True)
class Block:
    text: str
    link_chars: int
    heading: bool = False
    pre: bool = False

    @property
    def link_density(self) -> float:
        return self.link_chars / max(len(self.text), 1)


def _link_chars(raw: str) -> int:
    """Characters of ``raw`` between a LINK_OPEN and the next LINK_CLOSE (white space collapsed)."""
    n = 0
    for seg in raw.split(LINK_OPEN)[1:]:
        n += len(" ".join(seg.split(LINK_CLOSE, 1)[0].split()))
    return n


def split_blocks(marked_text: str) -> list[Block]:
    """The non-empty blocks of a container's marked text, in document order."""
    blocks: list[Block] = []
    pieces = _PRE_SPLIT.split(marked_text) if PRE_OPEN in marked_text else [marked_text]
    for i, piece in enumerate(pieces):
        if i % 2:  # preformatted: one block, verbatim
            code = _IN_PRE.sub("", piece).replace(BLOCK, "").strip("\n")
            if code.strip():
                blocks.append(Block(code, 0, pre=True))
            continue
        for raw in piece.split(BLOCK):
            if not raw or raw.isspace():
                continue
            heading = raw.startswith(HEADING)
            if LINK_OPEN in raw:
                links = _link_chars(raw)
                text = " ".join(raw.replace(LINK_OPEN, "").replace(LINK_CLOSE, "").replace(HEADING, "").split())
            else:
                links = 0
                text = " ".join(raw.replace(LINK_CLOSE, "").replace(HEADING, "").split())
            if text:
                blocks.append(Block(text, min(links, len(text)), heading=heading))
    return blocks
