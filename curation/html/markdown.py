"""Remove markdown markers from extracted text, keeping the words, code and math.

Llama 3 (Section 3.1.1) found markdown harmful for a model trained mostly on web data and removed
the markers. We drop heading hashes, list bullets, block-quote arrows, emphasis stars and
underscores, table pipes and rules, and code fences - but keep every line of code inside a fence
verbatim (its indentation and any ``*``/``#`` characters are code, not markup).
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_BULLET = re.compile(r"^(\s*)[-*+•]\s+")
_QUOTE = re.compile(r"^\s*(>\s?)+")
_RULE = re.compile(r"^\s*([-*_=]\s*){3,}$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_SPACES = re.compile(r"[ \t]{2,}")


def _table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return "\t".join(c for c in cells if c)


def strip_markdown(text: str) -> str:
    out: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            out.append(line)
            continue
        if _TABLE_RULE.match(line) and "|" in line or _RULE.match(line):
            continue
        if line.lstrip().startswith("|"):
            line = _table_row(line)
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        line = _BULLET.sub(r"\1", line)
        line = _EMPHASIS.sub(r"\2", line)
        line = _INLINE_CODE.sub(r"\1", line)
        out.append(_SPACES.sub(" ", line).rstrip())
    # collapse runs of blank lines left behind by removed markup
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(out))
    return cleaned.strip()
