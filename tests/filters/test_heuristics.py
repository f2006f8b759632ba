import collections

import pyarrow as pa

from curation.operators.base import ready
from curation.io.sources import plan_shards, read_shard
from curation.operators.extract import Extract
from curation.operators.heuristics import Heuristics
from curation.operators.language import Language
from curation.text import badwords
from tests.filters.conftest import SAMPLE, doc_table

#: the published rule sets as published (C4 on, FineWeb's 1% rule, no per-domain or per-script
#: overrides), not the operator's recipe defaults
PUBLISHED = {"c4": True, "max_dup_line_chars_nonl": 0.01, "by_domain": {}, "by_script": {}}


def test_wikitext_articles_pass(wikitext_articles):
    res = Heuristics(PUBLISHED).process(doc_table(wikitext_articles))
    n = len(wikitext_articles)
    assert res.kept.num_rows >= 0.9 * n, collections.Counter(res.rejected.column("reason").to_pylist())
    for col, typ in [("words", pa.int32()), ("dup_5gram_frac", pa.float32()), ("dirty_words", pa.int32()),
                     ("c4_sentences", pa.int32()), ("line_punct_frac", pa.float32())]:
        assert res.kept.schema.field(col).type == typ


def test_spam_pages_from_real_warc_fail():
    shards = plan_shards([str(SAMPLE / "warc" / "commoncrawl_CC-MAIN-2020-34_excerpt.warc.gz")], 1 << 30)
    docs = pa.concat_tables([b.docs for s in shards for b in read_shard(s, 500, 1 << 26)])
    pages = ready(Language()).process(ready(Extract({"engine": "resiliparse"})).process(docs).kept).kept
    res = Heuristics(PUBLISHED).process(pages)
    zh = res.rejected.filter(pa.compute.equal(res.rejected.column("lang"), "zh"))
    kept_zh = res.kept.filter(pa.compute.equal(res.kept.column("lang"), "zh")).num_rows
    assert zh.num_rows >= 8 and kept_zh == 0  # the Chinese spam and video pages all go
    reasons = set(res.rejected.column("reason").to_pylist())
    assert {"gopher_word_count", "c4_too_few_sentences"} <= reasons
    assert reasons & {"dup_5gram_frac", "top_3gram_frac", "top_2gram_frac", "dup_line_frac"}


def test_repetition_and_boilerplate_reasons(ccnet_sample):
    prose = ccnet_sample[0]
    spam = "Buy cheap watches online today best price free shipping. " * 40
    lorem = prose + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."
    code = prose + "\nfunction f(x) { return x + 1; } is what the widget does."
    nav = "\n".join(["Home", "About us", "Contact", "Products", "Login"] * 20)
    res = Heuristics({**PUBLISHED, "gopher_quality": False}).process(doc_table([spam, lorem, code, nav]))
    got = dict(zip(res.rejected.column("text").to_pylist(), res.rejected.column("reason").to_pylist()))
    assert got[spam] in {"dup_line_frac", "dup_para_frac", "top_2gram_frac", "dup_5gram_frac"}
    assert got[lorem] == "c4_lorem_ipsum"
    assert got[code] == "c4_curly_bracket"
    assert got[nav] in {"dup_line_frac", "dup_line_char_frac", "top_2gram_frac"}


def test_dirty_words_per_language():
    en = ("This page is nothing but porn and more porn, hardcore porn videos, fuck, free porn, xxx "
          "and anal sex every day for everyone who visits the site. ") * 3
    assert badwords.count(en, "en") >= 10
    assert badwords.count("A classic assessment of Scunthorpe's grape harvest.", "en") == 0
    zh = "免费在线观看三级片，" * 20
    t = doc_table([en, zh], lang=["en", "zh"])
    res = Heuristics({"gopher_quality": False, "gopher_repetition": False, "c4": False, "fineweb": False}).process(t)
    assert res.rejected.column("reason").to_pylist() == ["dirty_words", "dirty_words"]
    assert min(res.rejected.column("dirty_words").to_pylist()) >= 10


def test_cjk_word_counts_are_sane(udhr_sample):
    zh = [r["text"] for r in udhr_sample if r["lang_hint"].startswith(("zh", "ja", "cmn"))]
    en = [r["text"] for r in udhr_sample if r["lang_hint"] == "en"] or [udhr_sample[0]["text"]]
    m = Heuristics().measure(doc_table(zh + en))
    for i, text in enumerate(zh):
        assert 0.5 * len(text) < m["words"][i] <= len(text)  # about one word per character
    assert m["words"][len(zh)] < len(en[0]) / 3
