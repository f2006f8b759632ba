"""The extraction engines behind one interface: ``get_engine(name).extract(page, url)``.

* ``trafilatura`` (default): best precision/recall on the ScrapingHub benchmark among peers
  (datatrove and NeMo Curator default to it as well). Its text output marks lists and tables in
  markdown, which we strip (Llama 3, Section 3.1.1). Math is inlined by regex before parsing.
* ``curation``: our own main-content extractor on lexbor (:mod:`curation.html.content`); math is
  inlined by regex before parsing, and it emits no markup.
* ``resiliparse``: an order of magnitude faster (lexbor, C), used by DCLM. Math is inlined on its
  own DOM, and it is configured to emit no markup at all, so nothing needs stripping. (It parses
  a ``str`` faster than UTF-8 ``bytes``: ``parse_from_bytes`` costs a third more.)
"""

from __future__ import annotations

from curation.html.markdown import strip_markdown
from curation.html.math import inline_math, inline_math_dom


class TrafilaturaEngine:
    name = "trafilatura"

    def __init__(self, include_tables: bool = True, keep_math: bool = True):
        import trafilatura

        self._extract = trafilatura.extract
        self.include_tables = include_tables
        self.keep_math = keep_math

    def extract(self, html: str, url: str | None) -> str:
        text = self._extract(
            inline_math(html) if self.keep_math else html,
            url=url,
            output_format="txt",
            include_comments=False,
            include_tables=self.include_tables,
            include_images=False,
            include_links=False,
            deduplicate=False,
            with_metadata=False,
        )
        return strip_markdown(text) if text else ""


class ResiliparseEngine:
    name = "resiliparse"

    def __init__(self, include_tables: bool = True, keep_math: bool = True):
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        self._parse = HTMLTree.parse
        self._extract = extract_plain_text
        self.skip = None if include_tables else ["table"]
        self.keep_math = keep_math

    def extract(self, html: str, url: str | None) -> str:
        tree = self._parse(html)
        if self.keep_math:
            inline_math_dom(tree)
        text = self._extract(
            tree,
            main_content=True,
            preserve_formatting=True,
            list_bullets=False,
            alt_texts=False,
            links=False,
            form_fields=False,
            noscript=False,
            skip_elements=self.skip,
        )
        return (text or "").strip()


def _curation_engine(include_tables: bool = True, keep_math: bool = True, max_depth: int | None = None):
    from curation.html.content import CurationEngine
    from curation.html.nesting import MAX_DEPTH

    return CurationEngine(include_tables=include_tables, keep_math=keep_math,
                          max_depth=MAX_DEPTH if max_depth is None else max_depth)


ENGINES = {"trafilatura": TrafilaturaEngine, "resiliparse": ResiliparseEngine, "curation": _curation_engine}


def get_engine(name: str, include_tables: bool = True, keep_math: bool = True, max_depth: int | None = None):
    """The engine ``name``. ``max_depth`` reaches the engines that bound nesting themselves
    (``bounds_nesting``: curation); the operator's pre-pass bounds it for the others."""
    if name not in ENGINES:
        raise ValueError(f"unknown extraction engine {name!r}; expected one of {sorted(ENGINES)}")
    if name == "curation":
        return ENGINES[name](include_tables=include_tables, keep_math=keep_math, max_depth=max_depth)
    return ENGINES[name](include_tables=include_tables, keep_math=keep_math)
