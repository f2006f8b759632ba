"""Bad-word (dirty-word) lists: the LDNOOBW lists bundled in ``curation/data/badwords``.

Entries are split into words with :func:`curation.text.words.split_words` (so phrases and
CJK entries become word sequences, matching how documents are split) and compiled into one RE2
pattern per language that counts whole-word matches in a document's *normalized word string*:
its words joined by two spaces, with one space before and after (``" w1  w2  w3 "``). Each entry
is matched as ``" e1  e2 "``, so a match never starts or ends inside a word, adjacent matches are
all counted, and non-ASCII letters need no word-boundary support from the regex engine.

Entries that reduce to digits only (the Chinese list has ``13.``) are skipped: they would match
every number. ``fr-CA-u-sd-caqc`` is merged into ``fr``; ``no`` also serves ``nb``/``nn`` and
``fil`` also serves ``tl``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from curation.text.words import split_words

DATA = Path(__file__).resolve().parents[1] / "data" / "badwords"
_EXTRA = {"fr": ["fr-CA-u-sd-caqc"]}
_ALIASES = {"nb": "no", "nn": "no", "tl": "fil"}


def available_languages() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.txt") if p.stem not in {x for v in _EXTRA.values() for x in v})


@functools.lru_cache(maxsize=None)
def load_entries(lang: str, extra_dir: str | None = None) -> tuple[tuple[str, ...], ...]:
    """The entries of one language as word tuples (empty when there is no list)."""
    lang = _ALIASES.get(lang, lang)
    files = [DATA / f"{lang}.txt"] + [DATA / f"{x}.txt" for x in _EXTRA.get(lang, [])]
    if extra_dir:
        files.append(Path(extra_dir) / f"{lang}.txt")
    out = set()
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            words = tuple(split_words(line.strip()))
            if words and not all(w.isdigit() for w in words):
                out.add(words)
    return tuple(sorted(out))


@functools.lru_cache(maxsize=None)
def pattern(lang: str, extra_dir: str | None = None) -> str | None:
    """RE2/`re` pattern counting entries in a normalized word string; None without a list."""
    entries = load_entries(lang, extra_dir)
    if not entries:
        return None
    alts = sorted(("  ".join(re.escape(w) for w in e) for e in entries), key=len, reverse=True)
    return " (?:" + "|".join(alts) + ") "


def normalized_word_string(words: list[str]) -> str:
    return " " + "  ".join(words) + " "


def count(text: str, lang: str = "en") -> int:
    """Dirty-word matches in one text (the scalar reference of the vectorized stage)."""
    pat = pattern(lang)
    return len(re.findall(pat, normalized_word_string(split_words(text)))) if pat else 0
