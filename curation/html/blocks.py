"""Block and link markers: the page's structure carried through ONE C-level ``text()`` call.

Before parsing, control characters are written into the page's bytes around the tags of
block-level elements, links, headings and ``<pre>`` (:func:`mark_tags`, numpy over the tag scan
of :mod:`curation.html.tags`: no regex pass, no Python loop over tags). Lexbor's ``node.text()``
then returns the whole container's text in C with the marks in place, and Python splits it into
blocks and measures each one's length and link density on plain strings: no Python walk of the
tree, no Python object per node.

Marks: ``BLOCK`` between blocks, ``HEADING`` at the start of a heading, ``LINK_OPEN``/``LINK_CLOSE``
around link text, ``CELL`` at the start of a table cell, ``PRE_OPEN``/``PRE_CLOSE`` around preformatted text (its newlines and indentation
are kept verbatim: code). A page's own characters U+0001-U+0007 are removed first.

A ``BLOCK`` goes just before a tag (``\x03<p``, ``\x03</p``): an end tag's mark lies inside its
element, so the parser never moves it out of a table cell; a start tag's lies in the parent,
where it only ever marks a boundary. The opening marks of links, headings and ``pre`` go just
after their start tag (``<a href=..>\x01``), inside the element like the closing ones, so a
subtree removed later (a link named ``gallery``, a heading in a dropped header) takes both of its
marks with it and leaves no unmatched mark behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from curation.html.tags import Tags, keys, member, scan

LINK_OPEN, LINK_CLOSE, BLOCK, PRE_OPEN, PRE_CLOSE, HEADING, CELL = "\x01", "\x02", "\x03", "\x04", "\x05", "\x06", "\x07"

# Block-level elements (HTML Living Standard "flow content" that starts a new line in a browser).
BLOCK_TAGS = (
    "p div section article main li ul ol dl dt dd blockquote table tr td th caption figure figcaption "
    "address center details summary header footer nav aside form fieldset legend hr tbody thead tfoot br"
).split()
_BLOCK_KEYS = keys(BLOCK_TAGS + ["pre"] + [f"h{i}" for i in range(1, 7)])
_A, _PRE = keys(["a"])[0], keys(["pre"])[0]
_HEADING_KEYS = keys([f"h{i}" for i in range(1, 7)])
_CELL_KEYS = keys(["td", "th"])
_PRE_SPLIT = re.compile(f"{PRE_OPEN}(.*?)(?:{PRE_CLOSE}|$)", re.S)
_IN_PRE = re.compile(f"[{LINK_OPEN}{LINK_CLOSE}{HEADING}{CELL}]")


def _own_marks_removed(buf: np.ndarray) -> np.ndarray:
    ctrl = (buf - np.uint8(1)) < 7  # 1..7 (0 wraps round to 255)
    return buf[~ctrl] if ctrl.any() else buf


def mark_tags(tags: Tags) -> bytes:
    """The page of ``tags`` as UTF-8 with the marks written in (its own U+0001-U+0007 already removed)."""
    lt, is_close, names = tags.lt, tags.is_close, tags.keys
    is_block = member(names, _BLOCK_KEYS)
    is_a = names == _A
    is_pre = names == _PRE
    is_heading = member(names, _HEADING_KEYS)
    is_cell = member(names, _CELL_KEYS)
    end = tags.ends()
    opens_inside = ~is_close & (end >= 0)
    after = end + 1
    # (offset, mark) pairs; at one offset the marks land in this order: openings inside the
    # preceding start tag's element first, then closing marks, then BLOCK
    pos = [after[opens_inside & is_a], after[opens_inside & is_pre], after[opens_inside & is_heading],
           after[opens_inside & is_cell],
           lt[is_close & is_a], lt[is_close & is_pre], lt[is_block]]
    val = [ord(LINK_OPEN), ord(PRE_OPEN), ord(HEADING), ord(CELL), ord(LINK_CLOSE), ord(PRE_CLOSE), ord(BLOCK)]
    offsets = np.concatenate(pos)
    marks = np.repeat(np.array(val, dtype=np.uint8), [p.size for p in pos])
    return np.insert(tags.buf, offsets, marks).tobytes()  # np.insert sorts offsets stably


def scan_page(raw: bytes) -> Tags:
    """The tag scan of a page's UTF-8 with its own U+0001-U+0007 removed, ready for :func:`mark_tags`."""
    return scan(_own_marks_removed(np.frombuffer(raw, dtype=np.uint8)))


def mark(html: str) -> bytes:
    """``html`` as UTF-8 with the marks written in (see :func:`mark_tags`)."""
    return mark_tags(scan_page(html.encode("utf-8", "surrogatepass")))


@dataclass(slots=True)
class Block:
    text: str
    link_chars: int
    heading: bool = False
    cell: bool = False
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
            cell = CELL in raw
            if cell:
                raw = raw.replace(CELL, "")
            if LINK_OPEN in raw:
                links = _link_chars(raw)
                text = " ".join(raw.replace(LINK_OPEN, "").replace(LINK_CLOSE, "").replace(HEADING, "").split())
            else:
                links = 0
                text = " ".join(raw.replace(LINK_CLOSE, "").replace(HEADING, "").split())
            if text:
                blocks.append(Block(text, min(links, len(text)), heading=heading, cell=cell))
    return blocks
