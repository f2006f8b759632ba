"""engine: curation - marks, boilerplate removal and container choice, on real and small pages."""

from __future__ import annotations

import gzip
import json

from selectolax.lexbor import LexborHTMLParser

from curation.evaluation.tokens import precision_recall_f1
from curation.html.blocks import mark, split_blocks
from curation.html.boilerplate import is_boilerplate_name
from curation.html.content import CurationEngine

PARA = ("The council approved the new budget on Tuesday, after a long debate about schools, roads and "
        "the cost of heating public buildings through the coming winter.")


def test_marks_survive_the_parser_as_blocks_links_and_code():
    html = (f"<body><div><p>{PARA}</p><p>see <a href='/x'>the full list of members</a></p>"
            "<table><tr><td>cell one</td><td>cell two</td></tr></table>"
            "<pre>def f(x):\n    return x * 2\n</pre><h2>Next</h2>tail<br>after</div></body>")
    blocks = split_blocks(LexborHTMLParser(mark(html)).body.text())
    texts = [b.text for b in blocks]
    assert texts == [PARA, "see the full list of members", "cell one", "cell two",
                     "def f(x):\n    return x * 2", "Next", "tail", "after"]
    assert blocks[0].link_chars == 0 and blocks[1].link_chars == len("the full list of members")
    assert blocks[4].pre and blocks[5].heading


def test_a_pages_own_control_characters_are_not_marks():
    blocks = split_blocks(LexborHTMLParser(mark("<body><p>a\x03b\x01c</p></body>")).body.text())
    assert [b.text for b in blocks] == ["abc"]


def test_boilerplate_names_are_whole_words():
    assert is_boilerplate_name("share-bar") and is_boilerplate_name("commentList")
    assert is_boilerplate_name("site-sidebar widget")
    assert not is_boilerplate_name("shared") and not is_boilerplate_name("commentary")
    assert not is_boilerplate_name("article-sidebar-content")  # a content word beside it
    assert is_boilerplate_name("entryfooter") and is_boilerplate_name("sociable_tagline")  # a compound, a peer's word
    assert not is_boilerplate_name("footerless")


def test_article_kept_and_boilerplate_dropped():
    html = f"""<html><body><header><a href=/>Home</a> <a href=/n>News</a></header>
    <div class="layout has-sidebar"><nav><ul><li><a href=/a>Politics</a></li></ul></nav>
    <article><h1>Budget passes</h1><p>{PARA}</p><p>{PARA.upper()}</p>
      <div class="share-buttons">Share on Facebook Share on Twitter</div>
      <ul class="related"><li><a href=/r1>Another story about the council and its budget</a></li></ul></article>
    <div id="comments"><p>First comment: I disagree with the council about this budget entirely.</p></div>
    </div><footer>Copyright 2024 The Daily Paper</footer></body></html>"""
    text = CurationEngine().extract(html)
    assert text.split("\n") == ["Budget passes", PARA, PARA.upper()]


def test_tables_are_optional():
    html = f"<body><article><p>{PARA}</p><p>{PARA}</p><table><tr><td>Total</td><td>42</td></tr></table></article></body>"
    assert "Total" in CurationEngine(include_tables=True).extract(html)
    assert "Total" not in CurationEngine(include_tables=False).extract(html)


def test_page_without_containers_keeps_its_good_blocks():
    html = (f"<body><div><a href=/1>Home</a> | <a href=/2>About</a></div><div><b>Menu</b></div>"
            f"<div><div>{PARA}</div><div>{PARA}</div></div><div>Impressum</div></body>")
    assert CurationEngine().extract(html).split("\n") == [PARA, PARA]


def test_bundled_scrapinghub_pages(sample_dir):
    gt = json.loads((sample_dir / "html" / "scrapinghub" / "ground-truth.json").read_text())
    engine = CurationEngine()
    f1 = [precision_recall_f1(engine.extract(gzip.open(sample_dir / "html" / "scrapinghub" / f"{k}.html.gz")
                                             .read().decode("utf-8", "replace")), v["articleBody"])[2]
          for k, v in gt.items()]
    assert sum(f1) / len(f1) >= 0.9, f1


def test_a_dropped_link_takes_both_of_its_marks():
    """A link removed by its name (a ``gallery`` thumbnail) must not leave an open link mark that
    turns the rest of its paragraph into link text."""
    html = f"<body><article><p><a class='gallery' href=/i.jpg><img src=t.jpg></a>{PARA}</p><p>{PARA}</p></article></body>"
    assert CurationEngine().extract(html).split("\n") == [PARA, PARA]


def test_comments_that_outweigh_the_post_are_dropped():
    comments = "".join(f"<li class='comment'><p>Reader {i}: {PARA}</p></li>" for i in range(12))
    html = (f"<body><section id='main-content'><div class='entry-content'><p>{PARA}</p><p>{PARA.upper()}</p></div>"
            f"<div class='comments-area' id='comments'><ol class='comment-list'>{comments}</ol></div></section></body>")
    assert CurationEngine().extract(html).split("\n") == [PARA, PARA.upper()]


def test_an_article_in_a_page_region_is_kept_and_a_small_region_dropped():
    html = (f"<body><header class='site'><a href=/>Home</a> The Daily Paper, since 1851</header>"
            f"<main><aside class='story'><h1>Budget passes</h1><p>{PARA}</p><p>{PARA.upper()}</p></aside></main>"
            f"<footer>Copyright 2024 The Daily Paper, all rights reserved</footer></body>")
    assert CurationEngine().extract(html).split("\n") == ["Budget passes", PARA, PARA.upper()]


def test_ruby_readings_are_dropped():
    html = f"<body><article><p><ruby>子<rt>こ</rt></ruby>どもへの{PARA}</p><p>{PARA}</p></article></body>"
    assert CurationEngine().extract(html).split("\n")[0] == f"子どもへの{PARA}"


def test_short_lines_and_headings_after_the_last_paragraph_are_dropped():
    html = (f"<body><article><p>{PARA}</p><p>{PARA.upper()}</p><h3>Related stories</h3>"
            "<p>Was this article useful?</p><p>Share it</p></article></body>")
    assert CurationEngine().extract(html).split("\n") == [PARA, PARA.upper()]


def test_an_article_split_into_text_widgets_is_read_whole():
    """Readability's sibling rule: the container widens to the parent that holds its siblings' paragraphs."""
    widgets = "".join(f"<div class='text-widget'><p>{i}. {PARA}</p><p>{i}. {PARA.upper()}</p></div>" for i in range(3))
    html = (f"<body><div class='menu-box'><a href=/1>Home</a> <a href=/2>News</a></div>"
            f"<div class='page'>{widgets}</div><div>Impressum</div></body>")
    lines = CurationEngine().extract(html).split("\n")
    assert lines == [f"{i}. {p}" for i in range(3) for p in (PARA, PARA.upper())]


def test_a_long_heading_is_a_lead_and_short_lines_stay_without_a_paragraph():
    from curation.html.blocks import Block
    from curation.html.content import keep_blocks

    blocks = [Block(PARA, 0, heading=True), Block("Ort: Kasberg", 0, heading=True), Block(PARA, 0)]
    assert keep_blocks(blocks) == blocks  # the lead is kept although a heading follows it
    short = [Block("Art der Aufnahme: Digitalfoto", 0), Block("Ort: Kasberg im Frankenland", 0)]
    assert keep_blocks(short) == short  # no paragraph on the page: no tail to cut


def test_an_article_header_with_its_lead_is_kept():
    lead = "Mark Helfrich on the enormous task of cutting a film of three hours down to two, and what the studio made of the cuts."
    html = (f"<body><header><a href=/>Home</a></header><article><header><h1>Cutting room</h1><p>{lead}</p></header>"
            f"<p>{PARA}</p><p>{PARA.upper()}</p></article></body>")
    assert CurationEngine().extract(html).split("\n") == ["Cutting room", lead, PARA, PARA.upper()]


def test_a_lead_paragraph_beside_the_article_body_is_kept():
    lead = "The prime minister must ask for an extension of the deadline after parliament postponed its vote."
    html = (f"<body><div class='page'><h1>Vote postponed</h1><p class='lead'>{lead}</p><p><a href=/x>More on this</a></p>"
            f"<div class='article-content'><p>{PARA}</p><p>{PARA.upper()}</p></div></div></body>")
    assert CurationEngine().extract(html).split("\n") == [lead, PARA, PARA.upper()]


def test_a_lead_named_as_one_before_the_article_is_kept_and_a_caption_is_not():
    """Leads outside the article body, one level up (stern.de's ``div.article-intro`` in the
    article header): kept when named as a lead; an unnamed or caption box before the body is not."""
    lead = "The prime minister must ask for an extension of the deadline after parliament postponed its vote."
    caption = "The speaker of the house, photographed in the chamber on Saturday morning before the vote began."
    html = (f"<body><article><div class='o-article-header'><h1>Vote postponed</h1>"
            f"<div class='article-intro'><p>{lead}</p></div></div>"
            f"<div class='image-box'><div class='caption-text'>{caption}</div></div>"
            f"<div class='wrapper'><div class='article-content'><p>{PARA}</p><p>{PARA.upper()}</p></div></div>"
            f"</article></body>")
    assert CurationEngine().extract(html).split("\n") == [lead, PARA, PARA.upper()]
