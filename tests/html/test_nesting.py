"""Deep nesting: the pre-pass unwraps what lies too deep, so no engine loses a page's paragraphs."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from curation.operators.base import ready
from curation.html.nesting import MAX_DEPTH, flatten_deep_nesting, max_depth
from curation.operators.extract import Extract


@pytest.fixture(scope="module")
def paragraphs(sample_dir):
    """Real article paragraphs: the ground-truth bodies of the bundled ScrapingHub pages."""
    gt = json.loads((sample_dir / "html" / "scrapinghub" / "ground-truth.json").read_text())
    paras = [p.strip() for v in gt.values() for p in v["articleBody"].split("\n") if len(p.strip()) > 200]
    return paras[:20]


def _deep_page(paragraphs, levels: int = 50_000) -> str:
    """``levels`` nested divs, a real paragraph every 2,500 levels; none above the nesting."""
    step = levels // len(paragraphs)
    opens = "".join("<div>" + (f"<p>{paragraphs[i // step]}</p>" if i % step == 0 else "") for i in range(levels))
    return f"<html><body>{opens}{'</div>' * levels}</body></html>"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _page(sample_dir, rel: str) -> str:
    return gzip.open(sample_dir / "html" / rel).read().decode("utf-8", "replace")


@pytest.mark.parametrize("engine", ["trafilatura", "resiliparse", "curation"])
def test_fifty_thousand_nested_divs_keep_their_paragraphs(paragraphs, engine):
    html = _deep_page(paragraphs)
    assert max_depth(html) == 50_000
    text, reason, detail = ready(Extract({"engine": engine, "timeout_s": 10})).extract_one(html, None)
    assert reason is None, detail  # neither empty_extraction nor timeout
    kept = sum(p[:80] in text for p in paragraphs)
    assert kept == len(paragraphs), f"{engine} kept {kept} of {len(paragraphs)} paragraphs"


def test_flattening_keeps_all_text_and_bounds_depth(paragraphs):
    html = _deep_page(paragraphs, levels=3_000)
    flat = flatten_deep_nesting(html)
    assert max_depth(flat) == MAX_DEPTH
    assert _words(re.sub(r"<[^>]+>", " ", flat)) == _words(re.sub(r"<[^>]+>", " ", html))


def test_real_pages_pass_untouched(sample_dir):
    pages = sorted((sample_dir / "html").rglob("*.html.gz"))
    assert len(pages) > 20
    for f in pages:
        html = gzip.open(f).read().decode("utf-8", "replace")
        assert flatten_deep_nesting(html) is html, f.name


def test_tags_in_scripts_comments_and_void_elements_are_not_depth():
    noise = "<script>for (i=0;i<n;i++) x += '<div>';</script><!-- <div><div> -->" + "<br><img src=x><p>a" * 500
    assert max_depth(f"<html><body><div>{noise}</div></body></html>") == 1


def test_a_parser_panic_becomes_a_rejected_row():
    class PanicException(BaseException):  # pyo3's panic type derives from BaseException, not Exception
        pass

    class Panicking:
        def extract(self, html, url):
            raise PanicException("called `Option::unwrap()` on a `None` value")

    op = ready(Extract())
    op.engine = Panicking()
    text, reason, detail = op.extract_one("<html><body><p>x</p></body></html>", None)
    assert (text, reason) == (None, "parse_error") and "PanicException" in detail


def test_without_the_prepass_lxml_loses_the_deep_paragraphs(paragraphs):
    """max_depth=0 turns the pre-pass off: trafilatura's lxml tree ends at depth 256."""
    html = _deep_page(paragraphs)
    text, reason, _ = ready(Extract({"engine": "trafilatura", "max_depth": 0})).extract_one(html, None)
    assert reason == "empty_extraction" or sum(p[:80] in text for p in paragraphs) < len(paragraphs)
