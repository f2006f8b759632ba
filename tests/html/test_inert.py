"""Scripts, styles and comments cut from a page's bytes before it is scanned and parsed."""

from __future__ import annotations

import gzip

from selectolax.lexbor import LexborHTMLParser

from curation.html.inert import cut_inert


def test_scripts_styles_and_comments_are_cut_as_a_parser_reads_them():
    page = (b"<p>a</p><script>x = '<!--';</script><p>b</p><!-- <script> --><STYLE>p {}</STYLE>"
            b"<p>c</p><!-->d<!--->e<scripts>f</scripts>")
    # "<!-->" and "<!--->" are whole (empty) comments; <scripts> is another tag
    assert cut_inert(page) == b"<p>a</p><p>b</p><p>c</p>de<scripts>f</scripts>"


def test_math_scripts_and_ambiguous_or_unclosed_regions_are_left_alone():
    math = b'<p>a</p><script type="math/tex">x^2</script><script>w</script>e'
    assert cut_inert(math) == b'<p>a</p><script type="math/tex">x^2</script>e'
    # a script that writes a script: from there on, nothing is cut
    written = b'<!-- c --><script>document.write("<script src=x></scr"+"ipt>")</script><p>b</p><script>z</script>'
    assert cut_inert(written) == written[len(b"<!-- c -->"):]
    unclosed = b"<p>a</p><!-- never closed <p>b"
    assert cut_inert(unclosed) is unclosed
    assert cut_inert(b"<p>a<script>never closed") == b"<p>a<script>never closed"


def test_real_pages_keep_their_text(sample_dir):
    """What lexbor reads as text is the same with and without the cut (it skips those regions)."""
    files = sorted((sample_dir / "html" / "scrapinghub").glob("*.html.gz"))[:8]
    for f in files:
        raw = gzip.open(f).read()
        cut = cut_inert(raw)
        assert len(cut) < len(raw), f.name
        full, small = LexborHTMLParser(raw).body, LexborHTMLParser(cut).body
        for tree in (full, small):
            for node in tree.css("script,style"):
                node.decompose()
        assert " ".join(small.text().split()) == " ".join(full.text().split()), f.name
