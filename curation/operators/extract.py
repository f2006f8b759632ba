"""extract: main-content text from HTML (trafilatura by default; curation, our own, and resiliparse faster).

Per page: size bound (``max_bytes`` of UTF-8, default 10 MB), time bound (``timeout_s``), nesting
deeper than ``max_depth`` (100) tags unwrapped before parsing (:mod:`curation.html.nesting`: lxml drops what lies
deeper than 256, and resiliparse's C code is superlinear in depth, past the reach of the timer; the curation
engine bounds it on its own tag scan, ``bounds_nesting``), math kept
as text (:mod:`curation.html.math`), markdown markers removed (:mod:`curation.html.markdown`);
the engine-specific parts live in :mod:`curation.html.engines`.
Rows that arrive with ``text`` and no ``html`` (text-only inputs) pass through unchanged, under the same ``max_bytes``.

Reject reasons: ``too_large``, ``timeout``, ``parse_error``, ``empty_extraction``.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from curation import schema
from curation.html.engines import get_engine
from curation.html.nesting import flatten_deep_nesting
from curation.html.timeout import PageTimeout, time_limit
from curation.operators.base import MapOperator, OpResult, Params


class ExtractParams(Params):
    engine: Literal["trafilatura", "resiliparse", "curation"] = "trafilatura"
    #: Pages above this many bytes are rejected unparsed (peers use 1-10 MB; CC pages are < 1 MB).
    max_bytes: int = 10_000_000
    #: Wall-clock bound per page, seconds (0 disables).
    timeout_s: float = 10.0
    #: Tags nested deeper than this are unwrapped before parsing, their text kept (0: off; lxml stops
    #: at 256, and no page of ../shared/data/html_extraction nests deeper than 54).
    max_depth: int = 100
    #: Extracted text shorter than this (in characters) is rejected as empty.
    min_chars: int = 1
    include_tables: bool = True
    #: Turn MathML / MathJax into text before extraction (both engines drop it otherwise).
    keep_math: bool = True
    #: Keep the raw html column in the output (off: it is large and no later stage needs it).
    keep_html: bool = False


class Extract(MapOperator):
    name = "extract"
    Params = ExtractParams

    def setup(self) -> None:
        self.engine = get_engine(self.params.engine, self.params.include_tables, self.params.keep_math, self.params.max_depth)
        #: the operator's nesting pre-pass, unless the engine bounds nesting on its own scan
        self._prepass = bool(self.params.max_depth) and not getattr(self.engine, "bounds_nesting", False)

    def extract_one(self, html: str, url: str | None) -> tuple[str | None, str | None, str | None]:
        """Return (text, reason, detail); reason is None when the page is kept."""
        p: ExtractParams = self.params
        # characters <= UTF-8 bytes <= 4 x characters: encode only when the bound is in doubt
        size = len(html) if len(html) * 4 <= p.max_bytes else len(html.encode("utf-8", "surrogatepass"))
        if size > p.max_bytes:
            return None, "too_large", f"{size} bytes > max_bytes {p.max_bytes}"
        try:
            with time_limit(p.timeout_s):
                text = self.engine.extract(flatten_deep_nesting(html, p.max_depth) if self._prepass else html, url)
        except PageTimeout:
            return None, "timeout", f"{p.engine} took more than {p.timeout_s}s"
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as e:  # a parser failure is about this page, never the run; a Rust
            # panic (pyo3's PanicException) derives from BaseException, so Exception alone misses it
            return None, "parse_error", f"{p.engine}: {type(e).__name__}: {str(e)[:200]}"
        if len(text) < max(p.min_chars, 1):
            return None, "empty_extraction", f"{len(text)} characters of main text"
        return text, None, None

    def process(self, table: pa.Table) -> OpResult:
        if schema.HTML in table.column_names:
            htmls = table.column(schema.HTML).to_pylist()
        else:
            htmls = [None] * len(table)
        texts = table.column(schema.TEXT).to_pylist()
        urls = table.column(schema.URL).to_pylist()
        out_text, reasons, details = [], [], []
        for html, text, url in zip(htmls, texts, urls):
            if html is None:  # a text-only row: the same size bound as a page (a 50 MB text took 54 s in heuristics)
                reason, detail = (None, None) if text else ("empty_extraction", "no html and no text")
                if text and len(text) * 4 > self.params.max_bytes and len(text.encode("utf-8", "surrogatepass")) > self.params.max_bytes:
                    text, reason, detail = None, "too_large", f"text of {len(text.encode('utf-8', 'surrogatepass'))} bytes > max_bytes {self.params.max_bytes}"
            else:
                text, reason, detail = self.extract_one(html, url)
            out_text.append(text)
            reasons.append(reason)
            details.append(detail)
        idx = table.column_names.index(schema.TEXT)
        table = table.set_column(idx, schema.TEXT, pa.array(out_text, pa.large_string()))
        if not self.params.keep_html and schema.HTML in table.column_names:
            table = table.drop_columns([schema.HTML])
        return self.split(table, reasons, details)
