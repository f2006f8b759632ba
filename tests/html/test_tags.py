"""The tag scan: which tags a page opens, read from its bytes before any parser sees it."""

from __future__ import annotations

import gzip

from selectolax.lexbor import LexborHTMLParser

from curation.html.boilerplate import TAG_VOCABULARY, drop_tags
from curation.html.tags import encode, present, scan


def test_present_names_the_tags_a_page_opens():
    page = "<body><ARTICLE><p>x</p><header></header><abbr>y</abbr></article><!-- <nav> --></body>"
    found = present(scan(encode(page)), ("article", "header", "a", "main", "p", "figcaption"))
    assert found == {"article", "header", "p"}  # <abbr> is not <a>; an end tag alone opens nothing
    # a tag in a comment may be named (the scan is looser than the parser): a query for it finds nothing
    assert "nav" in present(scan(encode(page)), ("nav",))


def test_drop_tags_on_the_tags_present_drops_what_the_full_query_drops(sample_dir):
    for f in sorted((sample_dir / "html" / "scrapinghub").glob("*.html.gz"))[:6]:
        page = gzip.open(f).read().decode("utf-8", "replace")
        full, narrow = LexborHTMLParser(page).body, LexborHTMLParser(page).body
        drop_tags(full)
        drop_tags(narrow, present(scan(encode(page)), TAG_VOCABULARY))
        assert narrow.html == full.html, f.name
