"""The crawl-like corpus of bench/filter_value.py (curation/evaluation/crawl_corpus.py): junk at the
asked share, near-duplicate mirrors that differ from their page by one line, every document readable
by the pipeline's own readers and mapped back to its kind, the same bytes for the same seed, and no
eval-suite news text among the real pages."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from curation.evaluation import crawl_corpus, junk_corpus
from curation.io.readers.common import FilePart
from curation.io.readers.jsonl import read_jsonl
from curation.io.readers.warc import read_warc

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _read(corpus: Path) -> dict[str, dict]:
    """Every document the pipeline's readers get from the corpus, by URL."""
    out = {}
    for f in sorted((corpus / "web").glob("*.warc.gz")):
        for d in read_warc(FilePart(str(f), "warc", str(corpus)), 10_000_000):
            out[d["url"]] = d
    for f in sorted((corpus / "text").glob("*.jsonl.gz")):
        for d in read_jsonl(FilePart(str(f), "jsonl", str(corpus)), 10_000_000):
            out[d["url"]] = d
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("crawl") / "a"
    info = crawl_corpus.build(out, junk_share=0.6, near_dup_share=0.2, code_pages=4, math_pages=4, seed=3)
    return out, info


def test_junk_is_the_asked_share_and_every_kind_is_there(corpus):
    out, info = corpus
    kinds = [json.loads(x) for x in (out / "kinds.jsonl").read_text().splitlines()]
    assert len(kinds) == info["docs"] == len({k["url"] for k in kinds})
    assert {k["kind"] for k in kinds} == set(junk_corpus.KINDS)
    junk = sum(k["junk"] for k in kinds) / len(kinds)
    assert 0.55 <= junk <= 0.65 and info["junk_share"] == round(junk, 4)
    assert all(k["junk"] == (k["kind"] in junk_corpus.JUNK_KINDS) for k in kinds)


def test_every_document_is_read_by_the_pipeline_readers_and_maps_to_its_kind(corpus):
    out, _ = corpus
    kinds = {json.loads(x)["url"]: json.loads(x) for x in (out / "kinds.jsonl").read_text().splitlines()}
    docs = _read(out)
    assert set(docs) == set(kinds)
    assert all(d.get("html") or d.get("text") for d in docs.values())


def test_near_duplicates_are_their_page_plus_one_line(corpus):
    out, info = corpus
    kinds = [json.loads(x) for x in (out / "kinds.jsonl").read_text().splitlines()]
    mirrors = [k for k in kinds if k["near_dup_of"]]
    assert len(mirrors) == info["near_duplicates"] and len(mirrors) >= 0.15 * len(kinds)
    assert {k["junk"] for k in mirrors} == {True, False}  # real pages and junk are both copied
    docs = _read(out)
    for m in mirrors:
        a, b = docs[m["url"]], docs[m["near_dup_of"]]
        body_a, body_b = (a.get("html") or a.get("text")), (b.get("html") or b.get("text"))
        assert body_a != body_b
        assert re.sub(r"<p>Originally published on [^<]*</p>|^Originally published on [^\n]*\n", "", body_a, count=1) == body_b
        assert m["kind"] == next(k["kind"] for k in kinds if k["url"] == m["near_dup_of"])


def test_same_seed_same_bytes_other_seed_other_corpus(corpus, tmp_path):
    out, _ = corpus
    again = tmp_path / "b"
    crawl_corpus.build(again, junk_share=0.6, near_dup_share=0.2, code_pages=4, math_pages=4, seed=3)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((out / f).read_bytes() == (again / f).read_bytes() for f in files)
    other = tmp_path / "c"
    crawl_corpus.build(other, junk_share=0.6, near_dup_share=0.2, code_pages=4, math_pages=4, seed=4)
    assert (other / "kinds.jsonl").read_text() != (out / "kinds.jsonl").read_text()


def test_bad_shares_are_refused(tmp_path):
    with pytest.raises(ValueError, match="fractions"):
        crawl_corpus.build(tmp_path, junk_share=1.0)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_shared_pages_join_and_no_eval_news_text_is_trained_on(tmp_path):
    info = crawl_corpus.build(tmp_path / "s", shared=SHARED, web_pages=5, code_pages=2, math_pages=2, near_dup_share=0.0)
    kinds = [json.loads(x) for x in (tmp_path / "s" / "kinds.jsonl").read_text().splitlines()]
    variants = {k["variant"] for k in kinds}
    assert {"trafilatura", "readability", "unannotated", "cc_en_head"} <= variants
    assert any(v.startswith("short_answer_") for v in variants)
    assert 0.55 <= info["junk_share"] <= 0.65
    from curation.evaluation.suite import default_suite

    news = [json.loads(x)["text"] for x in gzip.open(default_suite()["news"], "rt")]
    docs = _read(tmp_path / "s")
    heads = [" ".join(t.split())[:80] for t in news]
    from curation.operators import ready
    from curation.operators.extract import Extract

    ex = ready(Extract({}))
    aeb = [u for u, k in ((k["url"], k) for k in kinds) if k["variant"] == "aeb"]
    texts = [" ".join((ex.extract_one(docs[u]["html"], u)[0] or "").split()) for u in aeb]
    assert aeb and not any(h in t for h in heads for t in texts)
