"""Remove markdown markers from extracted text, keeping the words, code and math.

Llama 3 (Section 3.1.1) found markdown harmful for a model trained mostly on web data and removed
the markers. We drop heading hashes, list bullets, block-quote arrows, emphasis stars and
underscores, table pipes and rules, and code fences - but keep every line of code inside a fence
verbatim (its indentation and any ``*``/``#`` characters are code, not markup).

Cost: one regex scan of the text finds whether any marker is present at all (resiliparse output
usually has none); only lines that start with a marker character, or hold ``**``/``__``/`` ` ``,
are rewritten.
"""

from __future__ import annotations

import re

_ANY_MARKER = re.compile(r"^[ \t]*(?:#|>|[-*+•]\s|\||```|~~~|[-*_=]{3})|\*\*|__|`", re.M)
_LINE_START = frozenset("#>-*+•|`~_=")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_BULLET = re.compile(r"^(\s*)[-*+•]\s+")
_QUOTE = re.compile(r"^\s*(>\s?)+")
_RULE = re.compile(r"^\s*([-*_=]\s*){3,}$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return "\t".join(c for c in cells if c)


def _clean_line(line: str, first: str) -> str | None:
    """Rewrite one line outside code fences; None drops it."""
    if first in _LINE_START:
        if _RULE.match(line) or ("|" in line and _TABLE_RULE.match(line)):
            return None
        if first == "|":
            line = _table_row(line)
        elif first == "#":
            line = _HEADING.sub("", line)
        elif first == ">":
            line = _QUOTE.sub("", line)
        else:
            line = _BULLET.sub(r"\1", line)
    if "**" in line or "__" in line:
        line = _EMPHASIS.sub(r"\2", line)
    if "`" in line:
        line = _INLINE_CODE.sub(r"\1", line)
    return line


def strip_markdown(text: str) -> str:
    if not _ANY_MARKER.search(text):
        return _BLANK_RUNS.sub("\n\n", text).strip()
    out: list[str] = []
    in_code = False
    for line in text.split("\n"):
        stripped = line.lstrip()
        first = stripped[:1]
        if first in ("`", "~") and _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code or not stripped:
            out.append(line)
            continue
        if first in _LINE_START or "**" in line or "__" in line or "`" in line:
            line = _clean_line(line, first)
            if line is None:
                continue
        out.append(line.rstrip())
    return _BLANK_RUNS.sub("\n\n", "\n".join(out)).strip()
