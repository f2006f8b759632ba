"""The class and id values of a page, read from its bytes, and exact-match selectors built from them.

A selector of substring tests (``[class*=share i]``, one per word, for class and id) costs lexbor
every test on every element: 0.75 ms a page for the boilerplate words alone. Instead, the page's
distinct ``class``/``id`` values are read by two C regex scans of its bytes (about 0.2 ms each),
each distinct value is judged once in Python (and cached across pages: sites repeat their names),
and lexbor gets a selector of exact matches, ``[class="share-bar"],[id="comments"]``, for the few
values that qualify.

The scan is looser than the parser (``data-class=`` values are read too; a value written with
an entity, ``&amp;``, or spaces around ``=`` is missed): an extra value only adds a test that
matches nothing, a missed one leaves that element to the other rules.
"""

from __future__ import annotations

import re
from functools import lru_cache

# one group, quotes and all (a group per form costs a tuple per match): unquoted after the set
_CLASS = re.compile(rb"""class=("[^"]*"|'[^']*'|[^\s"'>]+)""")
_ID = re.compile(rb"""id=("[^"]*"|'[^']*'|[^\s"'>]+)""")
_QUOTES = (b'"', b"'")


def _values(pattern: re.Pattern, raw: bytes) -> set[str]:
    return {(v[1:-1] if v[:1] in _QUOTES else v).decode("utf-8", "replace") for v in set(pattern.findall(raw))}


class PageNames:
    """The distinct class and id values of one page."""

    __slots__ = ("classes", "ids", "_selectors")

    def __init__(self, raw: bytes):
        self.classes = _values(_CLASS, raw)
        self.ids = _values(_ID, raw)
        self._selectors: dict = {}

    def selector(self, qualifies) -> str | None:
        """An exact-match selector for the values for which ``qualifies(value)`` (cached) is true;
        None when none does. Made once per page and test."""
        if qualifies in self._selectors:
            return self._selectors[qualifies]
        parts = [f'[class="{_css_string(v)}"]' for v in filter(qualifies, self.classes)]
        parts += [f'[id="{_css_string(v)}"]' for v in filter(qualifies, self.ids)]
        out = self._selectors[qualifies] = ",".join(parts) if parts else None
        return out


@lru_cache(maxsize=1 << 16)
def _css_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ").replace("\r", "\\d ").replace("\f", "\\c ")
