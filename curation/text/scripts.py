"""A document's dominant writing system: the Unicode script of most of its letters.

Used with the language to group documents (``curation/ranks.py``, issue 24): the ``language``
stage labels many scripts ``und`` (a UDHR translation in Adlam or in a Cyrillic minority language
is not one of its languages), and a ranking over such a group sorts by script.

A letter is a code point of Unicode category ``L*``; its script is the first word of its Unicode
name (``LATIN``, ``CYRILLIC``, ``ADLAM``, ...), with ``CJK``, ``HIRAGANA`` and ``KATAKANA`` one
script, ``CJK`` (Japanese mixes the three). The dominant script is the one with the most letters;
a document without letters is ``NONE``. The name lookup runs once per distinct code point.
"""

from __future__ import annotations

import unicodedata

import numpy as np

NONE = "NONE"
_MERGE = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "IDEOGRAPHIC": "CJK"}


def _script_of(cp: int) -> str:
    ch = chr(cp)
    if not unicodedata.category(ch).startswith("L"):
        return ""
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0] if name else "UNKNOWN"
    return _MERGE.get(first, first)


def dominant_scripts(texts: list[str | None]) -> list[str]:
    """The dominant script of each text (module docstring); ``NONE`` for no letters or no text."""
    cps = [np.frombuffer((t or "").encode("utf-32-le"), dtype=np.uint32) for t in texts]
    lengths = np.array([len(c) for c in cps], dtype=np.int64)
    if not lengths.sum():
        return [NONE] * len(texts)
    allc = np.concatenate(cps)
    uniq, inv = np.unique(allc, return_inverse=True)
    names = [_script_of(int(c)) for c in uniq]
    script_names, sid = np.unique(np.array(names, dtype=object).astype(str), return_inverse=True)
    letter = script_names[sid] != ""
    doc = np.repeat(np.arange(len(texts)), lengths)
    code = sid[inv]
    keep = letter[inv]
    k = len(script_names)
    table = np.bincount(doc[keep] * k + code[keep], minlength=len(texts) * k).reshape(len(texts), k)
    best = table.argmax(axis=1)
    return [str(script_names[b]) if table[i, b] else NONE for i, b in enumerate(best)]
