"""The extraction operator on real pages, without Ray."""

from __future__ import annotations

import gzip
import json
import re

import pyarrow as pa
import pytest

from curation.operators.base import ready
from curation import schema
from curation.evaluation.tokens import precision_recall_f1
from curation.operators.extract import Extract


def _table(pages: list[tuple[str, str | None]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"id": f"{i:016x}", "url": url, "fetch_time": None, "source": "test", "html": html, "text": None}
         for i, (html, url) in enumerate(pages)],
        schema=schema.DOC_SCHEMA,
    )


def _page(sample_dir, rel: str) -> str:
    return gzip.open(sample_dir / "html" / rel).read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def scrapinghub(sample_dir):
    gt = json.loads((sample_dir / "html" / "scrapinghub" / "ground-truth.json").read_text())
    return [(_page(sample_dir, f"scrapinghub/{k}.html.gz"), v["url"], v["articleBody"]) for k, v in sorted(gt.items())]


@pytest.mark.parametrize("engine,min_f1", [("trafilatura", 0.85), ("resiliparse", 0.75), ("curation", 0.85)])
def test_article_bodies_match_ground_truth(scrapinghub, engine, min_f1):
    op = Extract({"engine": engine})
    op.setup()
    res = op.process(_table([(h, u) for h, u, _ in scrapinghub]))
    assert res.kept.num_rows + res.rejected.num_rows == len(scrapinghub)
    by_url = dict(zip(res.kept.column("url").to_pylist(), res.kept.column("text").to_pylist()))
    f1s = [precision_recall_f1(by_url.get(u), truth)[2] for _, u, truth in scrapinghub]
    mean_f1 = sum(f1s) / len(f1s)
    assert mean_f1 >= min_f1, f"{engine} mean F1 {mean_f1:.3f} on {len(f1s)} pages"
    assert "html" not in res.kept.column_names  # raw html is dropped after extraction


@pytest.mark.parametrize("engine", ["trafilatura", "curation"])
def test_markdown_markers_removed_but_code_kept(sample_dir, engine):
    op = ready(Extract({"engine": engine}))
    text, reason, _ = op.extract_one(_page(sample_dir, "readability/v8-blog.html.gz"), None)
    assert reason is None
    assert not re.search(r"^\s*(#{1,6} |[-*+] |> )", text, re.M), "markdown markers left in the text"
    assert "```" not in text and "**" not in text
    # the V8 post's JavaScript examples survive extraction
    assert re.search(r"\b(function|const|let)\b.*[({;]", text)


def test_math_is_kept_as_text(sample_dir):
    html = _page(sample_dir, "readability/mathjax.html.gz")
    for engine in ("trafilatura", "resiliparse", "curation"):
        text, reason, _ = ready(Extract({"engine": engine})).extract_one(html, None)
        assert reason is None
        assert "a ≠ 0" in text and "a x 2 + b x + c = 0" in text, engine


@pytest.mark.parametrize("engine", ["trafilatura", "curation"])
def test_tex_annotations_and_scripts_become_tex(engine):
    html = ("<html><body><article><p>The identity "
            '<math alttext="e^{i\\pi}+1=0"><mi>e</mi></math> is famous, and so is '
            '<script type="math/tex">a^2+b^2=c^2</script>, said the long paragraph that explains '
            "both formulas in enough words for an extractor to keep it as main content.</p></article></body></html>")
    text, reason, _ = ready(Extract({"engine": engine})).extract_one(html, None)
    assert reason is None
    assert "e^{i\\pi}+1=0" in text and "$a^2+b^2=c^2$" in text


def test_bad_pages_become_rejected_rows_with_reasons(sample_dir):
    big = "<html><body>" + "<p>" + "word " * 4_000_000 + "</p></body></html>"  # ~20 MB
    empty = "<html><head><title>x</title></head><body><script>var a=1;</script></body></html>"
    wiki = _page(sample_dir, "readability/wikipedia.html.gz")
    op = ready(Extract({"timeout_s": 10}))
    res = op.process(_table([(big, "http://big"), (empty, "http://empty"), (wiki, "http://wiki")]))
    reasons = dict(zip(res.rejected.column("url").to_pylist(), res.rejected.column("reason").to_pylist()))
    assert reasons == {"http://big": "too_large", "http://empty": "empty_extraction"}
    assert res.kept.column("url").to_pylist() == ["http://wiki"]
    assert set(res.rejected.column("stage").to_pylist()) == {"extract"}
    assert all(d for d in res.rejected.column("detail").to_pylist())


def test_slow_page_times_out(sample_dir):
    html = _page(sample_dir, "readability/wikipedia.html.gz") * 3
    text, reason, detail = ready(Extract({"timeout_s": 0.001})).extract_one(html, None)
    assert (text, reason) == (None, "timeout") and "0.001" in detail


def test_text_only_rows_pass_through():
    t = pa.Table.from_pylist(
        [{"id": "a", "url": None, "fetch_time": None, "source": "s", "html": None, "text": "plain text"},
         {"id": "b", "url": None, "fetch_time": None, "source": "s", "html": None, "text": None}],
        schema=schema.DOC_SCHEMA,
    )
    res = ready(Extract()).process(t)
    assert res.kept.column("text").to_pylist() == ["plain text"]
    assert res.rejected.column("reason").to_pylist() == ["empty_extraction"]
