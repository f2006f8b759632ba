"""Boilerplate subtrees removed in C before any text is read: by tag, and by class/id words.

Tags: what never holds a page's main text (scripts, styles, navigation, forms' controls, ruby
annotations). ``form`` itself is kept: ASP.NET pages wrap the whole body in one. Page regions
(``header``, ``footer``, ``aside``) are dropped unless they hold more than ``REGION_SHARE`` of
the body's text.

Class and id words: navigation, sharing, comments, related links, cookie banners, newsletters,
bread crumbs and the like, the families trafilatura's ``DISCARD`` XPaths and resiliparse's
main-content heuristics drop (written here as whole words of a class or id: ``share-bar`` and
``commentList`` match, ``shared`` and ``commentary`` do not). A subtree is removed only when it
holds less than ``max_share`` of its container's text, so a site that names the wrapper of its
article ``has-sidebar`` keeps its article; comments sections (``comments-area``) are removed up
to ``COMMENTS_SHARE``.

Only the outermost match of each query is removed (``:not(X *)``), so no node is freed twice.
"""

from __future__ import annotations

import re
from functools import lru_cache

from curation.html.names import PageNames

#: Tags dropped with their content (trafilatura MANUALLY_CLEANED, resiliparse's main_content rules).
DROPPED_TAGS = (
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed", "map",
    "button", "select", "input", "textarea", "nav", "dialog", "menu",
    "figure", "figcaption", "picture",
    "rt", "rp",  # ruby annotations (the reading of each character, in Japanese pages), as trafilatura drops them
)
_TAGS = ",".join(DROPPED_TAGS)
DROP_TAGS_SELECTOR = f":is({_TAGS}):not(:is({_TAGS}) *)"

#: Page regions dropped unless they hold more than ``REGION_SHARE`` of the body's text: some
#: sites put their article in an ``aside`` or its lead in a ``header`` (rnz.de, munich2022.com).
REGION_TAGS = ("header", "footer", "aside")
REGION_SHARE = 0.3
#: ... and a ``header`` stays when it holds a paragraph this long: an article's lead (dev split:
#: 100 and 150 tried).
HEADER_LEAD = 100
_REGIONS = ",".join(REGION_TAGS)
_DROPPED, _REGION_SET = frozenset(DROPPED_TAGS), frozenset(REGION_TAGS)
#: The tag names whose presence :func:`drop_tags` can use.
TAG_VOCABULARY = DROPPED_TAGS + REGION_TAGS
REGIONS_SELECTOR = f":is({_REGIONS}):not(:is({_REGIONS}) *)"

#: Class/id words of boilerplate (matched as words: split on case changes, ``-``, ``_`` and spaces).
WORDS = (
    "comment", "comments", "share", "sharing", "social", "related", "sidebar", "cookie", "cookies",
    "newsletter", "breadcrumb", "breadcrumbs", "subscribe", "subscription", "promo", "advert", "ads",
    "advertisement", "banner", "popup", "modal", "navbar", "nav", "menu", "header", "footer", "masthead",
    "disqus", "recommended", "trending", "taglist", "tags", "byline", "author", "pagination",
    "pager", "toolbar", "consent", "gdpr", "signup", "login", "outbrain", "taboola",
    "bio", "teaser", "teasers", "recommendations", "more", "caption", "credit", "credits",
    "copyright", "rating", "print", "donate", "paywall", "shariff", "meta", "metadata", "newsletters",
    "inline", "embed", "photo", "image", "img", "figure", "gallery", "video", "player", "hidden",
    "sociable", "promotion", "donation", "spenden",  # trafilatura's "sociable"; donation boxes (dev split)
)
#: ... and words that end in one of these (``entryfooter``, ``postsidebar``): compounds written as one word.
SUFFIXES = ("footer", "sidebar")
# Coarse in C (substring), exact in Python on the few nodes that match.
_STEMS = sorted({w[:5] for w in WORDS})
_COARSE = ",".join(f"[class*={s} i],[id*={s} i]" for s in _STEMS)
COARSE_SELECTOR = f":is({_COARSE})"
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_WORDS = frozenset(WORDS)
#: Comments sections are dropped however much of the container's text they hold (up to
#: ``COMMENTS_SHARE``): on a busy blog page the comments outweigh the post (profootballtalk.com).
_COMMENT_WORDS = frozenset({"comment", "comments", "disqus", "respond", "replies"})
COMMENTS_SHARE = 0.95
_KEEP_WORDS = frozenset({"content", "article", "body", "entry", "text", "main", "story", "post", "table", "recipe", "ingredients", "instructions"})

_DROP_MARK = "data-cx-drop"


def name_words(value: str) -> set[str]:
    """The lower-cased words of a class or id value (split on case changes, ``-``, ``_``, spaces)."""
    return {w.lower() for w in _WORD.findall(value)}


@lru_cache(maxsize=1 << 16)
def is_boilerplate_name(value: str) -> bool:
    """True when a class or id value names boilerplate (and no content word beside it)."""
    words = name_words(value)
    if words & _KEEP_WORDS:
        return False
    return bool(words & _WORDS) or any(w.endswith(SUFFIXES) for w in words)


@lru_cache(maxsize=1 << 16)
def is_comments_name(value: str) -> bool:
    """True when a class or id value names a comments section (``comments-area``, ``disqus_thread``)."""
    words = name_words(value)
    return bool(words & _COMMENT_WORDS) and not (words & _KEEP_WORDS)


@lru_cache(maxsize=1 << 12)
def _outermost(names: frozenset[str]) -> str | None:
    """``:is(names):not(:is(names) *)``: the outermost elements of those names; None for none."""
    if not names:
        return None
    tags = ",".join(sorted(names))
    return f":is({tags}):not(:is({tags}) *)"


def drop_tags(root, present: frozenset[str] | None = None) -> None:
    """Remove every non-content tag under ``root`` (a selectolax node), with its subtree, and the
    page regions that hold at most ``REGION_SHARE`` of its text (but a header with a lead).

    ``present``: the tag names the page has (:func:`curation.html.tags.present` over
    ``DROPPED_TAGS + REGION_TAGS``), when known: the queries then name only those.
    """
    drop = DROP_TAGS_SELECTOR if present is None else _outermost(present & _DROPPED)
    for node in root.css(drop) if drop else ():
        node.decompose()
    query = REGIONS_SELECTOR if present is None else _outermost(present & _REGION_SET)
    regions = root.css(query) if query else None
    if regions:
        limit = REGION_SHARE * len(root.text(deep=True))
        for node in regions:
            if len(node.text(deep=True)) <= limit:
                if node.tag == "header" and any(len(p.text(deep=True)) >= HEADER_LEAD for p in node.css("p")):
                    continue  # an article's header with its lead
                node.decompose()


def drop_named(root, total_chars: int, max_share: float = 0.5, names: PageNames | None = None) -> int:
    """Remove subtrees under ``root`` whose class or id names boilerplate; return how many.

    ``total_chars``: the length of ``root``'s text; a subtree with more than ``max_share`` of it
    is kept whatever its name. ``names``: the page's class/id values, when known: lexbor then
    tests exact values (:mod:`curation.html.names`) instead of every word's substring.
    """
    if names is None:
        selector = COARSE_SELECTOR
    else:
        selector = names.selector(is_boilerplate_name)
        if selector is None:
            return 0
    marked = 0
    for node in root.css(selector):
        attrs = node.attributes
        name = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if is_boilerplate_name(name):
            node.attrs[_DROP_MARK] = ""
            marked += 1
    if not marked:
        return 0
    dropped = 0
    for node in root.css(f"[{_DROP_MARK}]:not([{_DROP_MARK}] *)"):
        n = len(node.text(deep=True))
        if n <= max_share * total_chars or (n <= COMMENTS_SHARE * total_chars and is_comments_name(
                f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}")):
            node.decompose()
            dropped += 1
        else:
            del node.attrs[_DROP_MARK]
    return dropped
