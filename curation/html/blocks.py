"""Block and link markers: the page's structure carried through ONE C-level ``text()`` call.

Before parsing, a regex pass over the page writes control characters just inside block-level
elements (after each start tag, before each end tag: inside the element, so the HTML parser never
moves them, as it would move text between table rows), around link text and around ``<pre>``
content. Lexbor's ``node.text()`` then returns the whole container's text in C with the marks in
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
    "|address|center|details|summary|header|footer|nav|aside|form|fieldset|legend|hr|tbody|thead|tfoot"
)
_START = re.compile(rf"<(?:{_BLOCK_TAGS})(?=[\s/>])[^>]*>", re.I)
_END = re.compile(rf"</(?:{_BLOCK_TAGS})\s*>", re.I)
_BR = re.compile(r"<br(?=[\s/>])[^>]*>", re.I)
_H_START = re.compile(r"<h[1-6](?=[\s/>])[^>]*>", re.I)
_H_END = re.compile(r"</h[1-6]\s*>", re.I)
_A_START = re.compile(r"<a(?=[\s>])[^>]*>", re.I)
_A_END = re.compile(r"</a\s*>", re.I)
_PRE_START = re.compile(r"<pre(?=[\s>])[^>]*>", re.I)
_PRE_END = re.compile(r"</pre\s*>", re.I)
_PRE_SPLIT = re.compile(f"{PRE_OPEN}(.*?)(?:{PRE_CLOSE}|$)", re.S)
_IN_PRE = re.compile(f"[{LINK_OPEN}{LINK_CLOSE}{HEADING}]")


def mark(html: str) -> str:
    """``html`` with the marks written in (one regex pass per kind of mark, all in C)."""
    if any(c in html for c in "\x01\x02\x03\x04\x05\x06"):
        html = _OWN_MARKS.sub("", html)
    html = _START.sub(lambda m: m.group(0) + BLOCK, html)
    html = _END.sub(lambda m: BLOCK + m.group(0), html)
    html = _BR.sub(lambda m: m.group(0) + BLOCK, html)
    html = _H_START.sub(lambda m: m.group(0) + BLOCK + HEADING, html)
    html = _H_END.sub(lambda m: BLOCK + m.group(0), html)
    html = _A_START.sub(lambda m: m.group(0) + LINK_OPEN, html)
    html = _A_END.sub(lambda m: LINK_CLOSE + m.group(0), html)
    if "<pre" in html or "<PRE" in html:
        html = _PRE_START.sub(lambda m: m.group(0) + BLOCK + PRE_OPEN, html)
        html = _PRE_END.sub(lambda m: PRE_CLOSE + BLOCK + m.group(0), html)
    return html


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
