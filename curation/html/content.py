"""``engine: curation``: our own main-content extractor on lexbor (selectolax), heavy work in C.

Per page:

1. math inlined as text (:mod:`curation.html.math`), block/link marks written in
   (:mod:`curation.html.blocks`), one lexbor parse;
2. non-content tags dropped in C (:mod:`curation.html.boilerplate`), tables too when
   ``include_tables`` is off;
3. the main-content container chosen: the first node matching the content-container selectors
   (``article``, ``main``, ``[itemprop=articleBody]``, classes such as ``entry-content`` or
   ``story-body``: the families of trafilatura's ``BODY_XPATH``) that holds at least
   ``MIN_CONTAINER_CHARS`` of text; failing that, the node whose paragraphs carry the most text
   (Readability's scoring: each paragraph's score to its parent, half to its grandparent);
4. boilerplate-named subtrees removed inside it, its text read by ONE ``text()`` call and split
   into blocks; blocks kept unless link-dense (:func:`keep_blocks`);
5. when that keeps less than ``MIN_CONTAINER_CHARS``, the whole body's good blocks instead
   (jusText's classes: long, low link density, or short between good ones), whichever is longer.

Output: one block a line, preformatted blocks verbatim (code), no markdown markers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from selectolax.lexbor import LexborHTMLParser

from curation.html.blocks import Block, mark_tags, scan_page, split_blocks
from curation.html.boilerplate import TAG_VOCABULARY, drop_named, drop_tags, is_boilerplate_name, name_words
from curation.html.inert import cut_inert
from curation.html.math import has_math, inline_math
from curation.html.names import PageNames
from curation.html.nesting import MAX_DEPTH, flatten_tags
from curation.html.tags import present, scan

#: A container (or an extraction) shorter than this is not trusted (trafilatura's MIN_EXTRACTED_SIZE is 250).
MIN_CONTAINER_CHARS = 250

#: The paragraph-scored candidate is widened to its parent while that adds at most 20% more text.
CLIMB_RATIO = 1.2

#: The body's good blocks replace the container's text when they are this many times longer
#: (trafilatura compares its result with its baseline extraction the same way).
FALLBACK_RATIO = 3.0

#: A named container must hold this share of the paragraph-scored candidate's text.
MIN_SHARE = 0.5

#: A block more than this share link text is dropped when shorter than ``SHORT_LINK_BLOCK``
#: characters, and any block above ``LINK_DENSITY_LONG`` (trafilatura's link_density_test drops
#: only short link-dense elements, at 0.8; tuned on the dev split).
LINK_DENSITY, SHORT_LINK_BLOCK, LINK_DENSITY_LONG = 0.5, 100, 0.8

#: A heading this long (characters) is a lead paragraph set in a heading tag, kept as one.
LONG_HEADING = 80

#: Lines shorter than this after the container's last paragraph are dropped (dev split: 20-60 tried).
TAIL_SHORT = 30

#: The container is widened to its parent while that at least doubles the paragraph text and the
#: parent's text is at least 70% paragraphs (dev split: 1.2-2.0 and 0.5-0.8 tried; lower gains
#: swallowed neighbouring teasers on AEB pages).
WIDEN_GAIN, WIDEN_DENSITY = 2.0, 0.7

#: Sibling paragraphs of the container this long are added to it (Readability: 80 characters).
SIBLING_MIN_CHARS = 80
SIBLING_SCAN = 20  # dev split: 5 and 20 tried

#: Leads are looked for before the container and before its parent (dev split: 1, 2 and 3 levels
#: tried: t-eval F1 0.9070, 0.9074, 0.9077 with AEB 0.9679, 0.9679, 0.9677), in elements with at
#: most this many long blocks (2 and 5 tried).
LEAD_LEVELS, LEAD_MAX_BLOCKS = 2, 2
#: Class/id words of a lead (news sites in English, German, Spanish and French), and of what
#: is not one though it sits before the article; ``header`` counts beside an article word.
_LEAD_WORDS = frozenset("lead intro summary standfirst abstract excerpt subtitle subheadline deck encabezado "
                        "bajada vorspann einleitung chapeau chapo".split())
_ARTICLE_WORDS = frozenset("article post entry story".split())
_NOT_LEAD_WORDS = frozenset("caption credit byline author share social related comment comments meta".split())

#: Content containers, most specific first; the first match with enough text wins.
_CONTAINER_NAMES = (
    "articlebody", "article-body", "article_body", "article__body", "article-content", "article__content",
    "articlecontent", "article-text", "articletext", "entry-content", "post-content", "post_content",
    "postcontent", "post-body", "post-text", "post-entry", "story-body", "storycontent", "story-content",
    "body-text", "text-content", "content-body", "main-content", "page-content", "blog-content",
    "single-content", "field-body", "fulltext", "rich-text", "news-text", "artikel",
)
# every name above holds one of these: most values are ruled out by them
_CONTAINER_STEMS = ("text", "body", "post", "story", "entry", "article", "artikel", "content")
assert all(any(s in n for s in _CONTAINER_STEMS) for n in _CONTAINER_NAMES)
CONTAINER_SELECTORS = (
    "[itemprop=articleBody]",
    ":is(" + ",".join(f"[class*={n} i],[id*={n} i]" for n in _CONTAINER_NAMES) + "):is(div,section,article,main)",
    "article",
    "main,[role=main]",
    "#content,.content,#main,.main,#story,.story,.post,.entry",
)
_PARAGRAPHS = "p,pre,td,blockquote"
#: The tags whose presence on a page (from its tag scan) the queries use: :func:`drop_tags`'s and ``article``.
PRESENT_TAGS = tuple(sorted(set(TAG_VOCABULARY) | {"article"}))


def _best_by_paragraphs(root):
    """Readability's candidate: the node whose paragraphs (and half its grandchildren's) score most."""
    scores: dict[int, float] = {}
    nodes = {}
    for p in root.css(_PARAGRAPHS):
        text = p.text(deep=True)
        n = len(text)
        if n < 25:
            continue
        score = 1.0 + text.count(",") + min(n / 100, 3.0)
        parent = p.parent
        if parent is None:
            continue
        key = parent.mem_id
        scores[key] = scores.get(key, 0.0) + score
        nodes[key] = parent
        grand = parent.parent
        if grand is not None:
            key = grand.mem_id
            scores[key] = scores.get(key, 0.0) + score / 2
            nodes[key] = grand
    if not scores:
        return None
    return nodes[max(scores, key=scores.__getitem__)]


def _paragraph_container(body):
    """Readability's candidate, widened through wrappers that add little text; None when none."""
    best = _best_by_paragraphs(body)
    if best is None:
        return None, 0
    n = len(best.text(deep=True))
    while best.parent is not None and best is not body and best.parent.tag not in ("html", "#document"):
        up = len(best.parent.text(deep=True))
        if up > CLIMB_RATIO * n:
            break
        best, n = best.parent, up
    return best, n


def _paragraph_chars(node) -> int:
    return sum(n for p in node.css(_PARAGRAPHS) if (n := len(p.text(deep=True))) >= 25)


def _widen(node, body):
    """``node``, or the ancestor that holds its siblings' paragraphs too: an article split into
    sections or text widgets (Readability appends such siblings to its top candidate)."""
    pc = _paragraph_chars(node)
    while True:
        parent = node.parent
        if parent is None or parent is body or node is body or parent.tag in ("html", "#document", "body"):
            return node
        ppc = _paragraph_chars(parent)
        if ppc < WIDEN_GAIN * pc or ppc < WIDEN_DENSITY * len(parent.text(deep=True)):
            return node
        node, pc = parent, ppc


@lru_cache(maxsize=1 << 16)
def is_lead_name(value: str) -> bool:
    """True when a class or id value names an article's lead or header (``article-intro``,
    ``o-article-header``), not its caption or byline."""
    words = name_words(value)
    if words & _NOT_LEAD_WORDS:
        return False
    return bool(words & _LEAD_WORDS) or ("header" in words and bool(words & _ARTICLE_WORDS))


@lru_cache(maxsize=1 << 16)
def _names_container(value: str) -> bool:
    low = value.lower()
    return any(s in low for s in _CONTAINER_STEMS) and any(n in low for n in _CONTAINER_NAMES)


def find_container(body, names: PageNames | None = None, present_tags: frozenset[str] | None = None):
    """The node holding the main content (``body`` when nothing better is found).

    ``names``: the page's class/id values, when known (:mod:`curation.html.names`);
    ``present_tags``: which of ``PRESENT_TAGS`` the page has, when known (no ``article`` query on a
    page without one).

    A container found by name must hold at least ``MIN_SHARE`` of the text of the paragraph-scored
    candidate: the first ``article`` of a page is often a teaser, and ``.content`` a small box.
    """
    scored, scored_chars = _paragraph_container(body)
    for selector in CONTAINER_SELECTORS:
        if names is not None and selector is CONTAINER_SELECTORS[1]:  # the same test on exact values
            exact = names.selector(_names_container)
            if exact is None:
                continue
            selector = f":is({exact}):is(div,section,article,main)"
        elif present_tags is not None and selector == "article" and "article" not in present_tags:
            continue  # a query walks the whole tree, finding something or not
        for node in body.css(selector):
            n = len(node.text(deep=True))
            if n >= MIN_CONTAINER_CHARS and n >= MIN_SHARE * scored_chars:
                return _widen(node, body)
    if scored is not None and scored_chars >= MIN_CONTAINER_CHARS:
        return _widen(scored, body)
    return body


def keep_blocks(blocks: list[Block]) -> list[Block]:
    """Inside a chosen container: everything but link-dense lines (short ones, as trafilatura's
    link-density test spares long paragraphs), headings of nothing kept, and the short lines and
    headings after the last paragraph."""
    keep = [b.pre or not ((b.link_density > LINK_DENSITY and len(b.text) < SHORT_LINK_BLOCK)
                          or b.link_density > LINK_DENSITY_LONG) for b in blocks]
    heading = [b.heading and len(b.text) < LONG_HEADING for b in blocks]  # a long one is a lead paragraph
    for i in range(len(blocks)):
        if heading[i] and keep[i]:
            nxt = i + 1
            keep[i] = nxt < len(blocks) and keep[nxt] and not heading[nxt]
    # after the last long, link-poor block: no headings (of related links) and no short lines
    # (share / rate / "more articles" prompts); table cells stay. Without such a block, nothing.
    last = max((i for i, b in enumerate(blocks) if keep[i] and (b.pre or (len(b.text) >= 80 and b.link_density < 0.2))),
               default=len(blocks))
    for i in range(last + 1, len(blocks)):
        if not blocks[i].cell and (len(blocks[i].text) < TAIL_SHORT or heading[i]):
            keep[i] = False
    return [b for b, k in zip(blocks, keep) if k]


def good_blocks(blocks: list[Block]) -> list[Block]:
    """The whole body's good blocks, jusText-style: long and link-poor, or short between two good ones."""
    cls = []
    for b in blocks:
        n, ld = len(b.text), b.link_density
        if b.pre:
            cls.append(2)
        elif ld > 0.33 or n < 20:
            cls.append(0)
        elif n >= 80 and ld < 0.2:
            cls.append(2)
        else:
            cls.append(1)
    out = []
    for i, (b, c) in enumerate(zip(blocks, cls)):
        if c == 2:
            out.append(b)
        elif c == 1:
            prev = next((cls[j] for j in range(i - 1, -1, -1) if cls[j] != 1), 0)
            nxt = next((cls[j] for j in range(i + 1, len(cls)) if cls[j] != 1), 0)
            if prev == 2 and nxt == 2 or (b.heading and nxt == 2):
                out.append(b)
    return out


def _sibling_paragraphs(container) -> tuple[list[Block], list[Block]]:
    """Paragraphs beside the container (a lead or subtitle ``<p>`` just outside the article body):
    Readability's sibling rule, ``p`` elements of ``SIBLING_MIN_CHARS`` or more and link density
    under 0.25, at most ``SIBLING_SCAN`` elements each way."""
    out = ([], [])
    for side, step in ((0, "prev"), (1, "next")):
        node, seen = getattr(container, step), 0
        while node is not None and seen < SIBLING_SCAN:
            if node.tag == "p":
                seen += 1
                blocks = split_blocks(node.text(deep=True))
                if (len(blocks) == 1 and len(blocks[0].text) >= SIBLING_MIN_CHARS and blocks[0].link_density < 0.25
                        and not is_boilerplate_name(f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}")):
                    out[side].append(blocks[0])
            elif node.tag != "-text":
                seen += 1
            node = getattr(node, step)
    out[0].reverse()
    return out


def _leads(container) -> list[Block]:
    """Lead paragraphs before the container, outside it: in the elements that precede it or one of
    its ``LEAD_LEVELS`` nearest ancestors and are named as a lead (:func:`is_lead_name`: an
    article's header, a ``div.article-intro``, a ``div.texto-bajada``), each holding at most
    ``LEAD_MAX_BLOCKS`` blocks of ``SIBLING_MIN_CHARS`` or more, link-poor (headings left out).

    Named only: unnamed or otherwise named elements before an article body are, on the AEB pages,
    summaries, captions and bylines that its ground truth leaves out (dev split, all such
    elements taken: AEB 0.967 -> 0.962, t-eval F1 0.904 -> 0.911; named only: 0.968 and 0.907).
    """
    found: list[list[Block]] = []
    node = container
    for _ in range(LEAD_LEVELS):
        sib, seen = node.prev, 0
        while sib is not None and seen < SIBLING_SCAN:
            if sib.tag != "-text":
                seen += 1
                if sib.tag not in ("p", "-comment", "head") and is_lead_name(
                        f"{sib.attributes.get('class') or ''} {sib.attributes.get('id') or ''}"):
                    good = [b for b in split_blocks(sib.text(deep=True))
                            if len(b.text) >= SIBLING_MIN_CHARS and b.link_density < 0.25 and not b.heading]
                    if 0 < len(good) <= LEAD_MAX_BLOCKS:
                        found.append(good)
            sib = sib.prev
        node = node.parent
        if node is None or node.tag in ("body", "html"):
            break
    return [b for group in reversed(found) for b in group]


def _join(blocks: list[Block]) -> str:
    return "\n".join(b.text for b in blocks)


class CurationEngine:
    name = "curation"

    #: The engine bounds the page's nesting itself, on the tag scan its marks use (one encode, one
    #: scan): the operator's own pre-pass is skipped.
    bounds_nesting = True

    def __init__(self, include_tables: bool = True, keep_math: bool = True, max_depth: int = MAX_DEPTH):
        self.include_tables = include_tables
        self.keep_math = keep_math
        self.max_depth = max_depth

    def _prepare(self, html: str) -> tuple[bytes, PageNames, frozenset[str]]:
        """The page as marked UTF-8 (math inlined, nesting bounded to ``max_depth``, 0: unbounded),
        its class/id values and which of ``PRESENT_TAGS`` it has."""
        raw = cut_inert(html.encode("utf-8", "surrogatepass"))
        tags = scan_page(raw)
        if self.keep_math and has_math(tags):
            raw = cut_inert(inline_math(html).encode("utf-8", "surrogatepass"))
            tags = scan_page(raw)
        if self.max_depth:
            flat = flatten_tags(tags, self.max_depth)
            if flat is not None:
                raw = flat
                tags = scan(np.frombuffer(flat, dtype=np.uint8))
        return mark_tags(tags), PageNames(raw), present(tags, PRESENT_TAGS)

    def extract(self, html: str, url: str | None = None) -> str:
        marked, names, tags = self._prepare(html)
        tree = LexborHTMLParser(marked)
        body = tree.body
        if body is None:
            return ""
        drop_tags(body, tags)
        if not self.include_tables:
            for table in body.css("table:not(table *)"):
                table.decompose()
        container = find_container(body, names, tags)
        text = ""
        if container is not body:
            drop_named(container, len(container.text(deep=True)), names=names)
            before, after = _sibling_paragraphs(container)
            text = _join(_leads(container) + before + keep_blocks(split_blocks(container.text(deep=True))) + after)
        whole = len(body.text(deep=True))
        if len(text) >= MIN_CONTAINER_CHARS and whole <= FALLBACK_RATIO * len(text):
            return text  # the body's good blocks (a part of its text) cannot be FALLBACK_RATIO times longer
        drop_named(body, whole, names=names)
        fallback = _join(good_blocks(split_blocks(body.text(deep=True))))
        if len(text) < MIN_CONTAINER_CHARS or len(fallback) > FALLBACK_RATIO * len(text):
            return fallback if len(fallback) > len(text) else text
        return text
