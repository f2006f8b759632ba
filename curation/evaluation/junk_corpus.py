"""A junk corpus our users would recognise, built deterministically from data in the repository.

Common Crawl users feed the pipeline WARC files of HTML pages, so every web page here is a WARC
response record (``web/crawl-NN.warc.gz``, junk and real pages shuffled together the way a crawl
mixes them, some junk served as ``text/plain`` the way raw log files are). The bundled UDHR
translations are a JSONL text table (``text/udhr.jsonl.gz``), the way ``sample/`` feeds them, so
the "95% of the UDHR kept" figure is about exactly the bundled texts.

Each document's kind is in ``kinds.jsonl`` (one ``{"url", "kind", "junk", "variant"}`` a line),
keyed by URL: the URLs look like ordinary web URLs (no kind in them, so no filter can key on it),
and the URL survives every stage (kept and rejected rows), so outputs map back to kinds.

Junk kinds (each from several generators, lengths, languages and page templates):

* ``random_tokens``: letter strings (uniform or letter-frequency weighted, Latin, Cyrillic, Greek
  or CJK), alphanumeric ids, hex and base64 dumps, with or without sentence punctuation;
* ``word_salad``: real words drawn at their real frequencies (English, German, Spanish, French,
  counted on bundled text), no syntax;
* ``markov``: word chains of order 1 and 2 trained on real text (English WikiText and news,
  German and Spanish web text);
* ``seo_spam``: keyword stuffing (spun sales copy, "service in city" lists, keyword tag lists),
  English and German;
* ``link_farm``: link directories, category / pagination pages, tag clouds, sitemaps, parked
  domain "related searches" pages;
* ``machine_logs``: Apache/nginx access and error logs, syslog, Python tracebacks and logging,
  JSON logs, CI build output; raw ``text/plain`` or in a ``<pre>`` log viewer page;
* ``mojibake``: real text whose UTF-8 bytes were once or twice read as cp1252 / Latin-1, Cyrillic
  through cp1251/KOI8-R, Japanese through Shift-JIS, baked into a page served as UTF-8 (text served
  under a wrong charset header is left out: the reader repairs it with ftfy, so it is not junk).

Real kinds that must survive:

* ``news``: the 40 Article Extraction Benchmark pages of ``sample/html/scrapinghub`` as served;
* ``prose``: the real pages of ``sample/html/readability`` and ``sample/html/trafilatura``;
* ``code``: pages of Python standard-library source (PSF-2.0; modules NOT among the 13 whose functions
  ``curation/data/classifiers/domain.jsonl.gz`` trains on): blob views, raw ``text/plain`` files,
  tutorial posts with a function in a code block;
* ``math``: GSM8K train worked answers (MIT) as Q&A pages and worksheets;
* ``udhr``: ``sample/text/udhr_60.jsonl.gz``.

Overlap with the bundled classifiers' training data (``curation/data/classifiers``) that the repo
cannot avoid: the news pages' article bodies are all in ``quality.jsonl.gz`` (hq: every
non-holdout AEB body is); about a third of the trafilatura prose pages are ``lq`` pages there; the
GSM8K problems are the first 600 train problems, the domain model's math examples (the repo holds
no other non-benchmark math). Word salad, Markov chains and mojibake are made from that same
WikiText / AEB / web text (their words, not their sentences).

Commands::

    python -m curation.evaluation.junk_corpus build OUT [--per-kind N] [--seed S]
    python -m curation.evaluation.junk_corpus figures RUN --corpus OUT [--json]

``figures`` prints, per kind: documents, removed by a stage other than ``mix`` (and by which),
kept through every stage before ``mix``.
"""

from __future__ import annotations

import argparse
import ast
import base64
import collections
import gzip
import html as htmllib
import io
import json
import random
import re
import sys
import sysconfig
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample"
CLASSIFIER_DATA = ROOT / "curation" / "data" / "classifiers"

JUNK_KINDS = ("random_tokens", "word_salad", "markov", "seo_spam", "link_farm", "machine_logs", "mojibake")
REAL_KINDS = ("news", "prose", "code", "math", "udhr")
KINDS = JUNK_KINDS + REAL_KINDS

#: standard-library modules whose functions the bundled domain model trains on (domain.jsonl.gz
#: "python stdlib" rows): code pages come from other modules
_TRAINED_STDLIB = {"base64", "bisect", "calendar", "colorsys", "csv", "difflib", "fnmatch", "fractions",
                   "glob", "graphlib", "heapq", "ipaddress", "json"}


# --------------------------------------------------------------------------------------------
# the bundled text the generators learn from


def _jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _lang(text: str) -> str:
    import pycld2

    try:
        return pycld2.detect(text)[2][0][1]
    except Exception:  # pycld2 raises on odd bytes: that text is simply not used
        return "un"


@dataclass
class Reference:
    """Real running text per language (en, de, es, fr), and the real non-ASCII texts mojibake is made of."""

    by_lang: dict[str, list[str]] = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)
    nonascii: list[tuple[str, str]] = field(default_factory=list)  # (lang, text)

    @classmethod
    def load(cls) -> "Reference":
        ref = cls()
        quality = _jsonl(CLASSIFIER_DATA / "quality.jsonl.gz")
        domain = _jsonl(CLASSIFIER_DATA / "domain.jsonl.gz")
        for r in quality:
            if r["label"] == "hq" and _lang(r["text"]) == "en":
                ref.by_lang.setdefault("en", []).append(r["text"])
                head = r["text"].strip().split("\n", 1)[0].strip(" =")
                if 3 <= len(head.split()) <= 12:
                    ref.titles.append(head)
        for r in domain:
            if r["source"] in ("web text", "scrapinghub-aeb ground truth") and r["domain"] == "multilingual":
                lang = _lang(r["text"])
                if lang in ("de", "es", "fr"):
                    ref.by_lang.setdefault(lang, []).append(r["text"])
            if r["source"] == "udhr" or r["domain"] == "multilingual":
                text = r["text"]
                if text and sum(ord(c) > 127 for c in text) / len(text) >= 0.03:
                    ref.nonascii.append((_lang(text), text))
        for r in quality:
            text = r["text"]
            if text and sum(c in "\u2018\u2019\u201c\u201d\u2013\u2014\u00e9\u00e8\u00fc\u00f6\u00e4" for c in text) / len(text) >= 0.01:
                ref.nonascii.append((_lang(text), text))
        return ref


_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _sentences_of(text: str) -> list[list[str]]:
    out = []
    for s in re.split(r"(?<=[.!?])\s+|\n+", text):
        w = words(s)
        if len(w) >= 4:
            out.append(w)
    return out


class Markov:
    """A word chain of order ``k`` (1 or 2) over real sentences (they start and end where real ones do)."""

    def __init__(self, texts: list[str], k: int):
        self.k = k
        self.next: dict[tuple, list[str]] = collections.defaultdict(list)
        for t in texts:
            for s in _sentences_of(t):
                toks = ["<s>"] * k + s + ["</s>"]
                for i in range(len(toks) - k):
                    self.next[tuple(toks[i:i + k])].append(toks[i + k])

    def sentence(self, rng: random.Random, max_words: int = 40) -> list[str]:
        state = ("<s>",) * self.k
        out: list[str] = []
        while len(out) < max_words:
            nxt = self.next.get(state)
            if not nxt:
                break
            w = rng.choice(nxt)
            if w == "</s>":
                break
            out.append(w)
            state = state[1:] + (w,)
        return out


# --------------------------------------------------------------------------------------------
# page templates: what surrounds the main content on real sites


_SITE_WORDS = ["daily", "best", "top", "info", "world", "online", "hub", "zone", "news", "city", "home",
               "market", "review", "guide", "deal", "web", "net", "portal", "blog", "point", "central"]
_TLDS = ["com", "net", "org", "info", "biz", "de", "co.uk", "xyz", "top", "online", "ru", "es", "fr"]


def _site(rng: random.Random) -> str:
    return "".join(rng.sample(_SITE_WORDS, rng.randint(1, 2))) + str(rng.choice(["", "", rng.randint(1, 99)])) \
        + "." + rng.choice(_TLDS)


def _slug(rng: random.Random, vocab: list[str], n: int | None = None) -> str:
    n = n or rng.randint(2, 6)
    return "-".join(w.lower() for w in rng.choices(vocab, k=n))


def _menu(rng: random.Random, site: str, items: list[str]) -> str:
    return "<ul class='menu'>" + "".join(
        f"<li><a href='https://{site}/{htmllib.escape(i.lower().replace(' ', '-'))}/'>{htmllib.escape(i)}</a></li>"
        for i in items) + "</ul>"


_NAV = ["Home", "About", "Contact", "Blog", "News", "Shop", "Services", "FAQ", "Login", "Register", "Privacy Policy",
        "Terms of Use", "Sitemap", "Careers", "Support", "Archive", "Categories", "Search"]
_NAV_DE = ["Startseite", "Über uns", "Kontakt", "Impressum", "Datenschutz", "Suche", "Archiv", "Kategorien"]


def page(rng: random.Random, site: str, title: str, body_html: str, lang: str = "en",
         template: str | None = None) -> str:
    """A whole HTML page around ``body_html``: one of several site templates with real-looking
    header navigation, sidebars, cookie notice and footer (what extraction has to strip)."""
    template = template or rng.choice(["blog", "portal", "forum", "shop", "bare", "cms"])
    nav = _NAV_DE if lang == "de" else _NAV
    head = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{htmllib.escape(title)} | {site}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<link rel='stylesheet' href='/static/css/main.{rng.randrange(16**8):08x}.css'>"
            "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}</script>"
            "</head><body>")
    if template == "bare":
        return head + f"<h1>{htmllib.escape(title)}</h1>{body_html}</body></html>"
    header = (f"<header><div class='logo'><a href='https://{site}/'>{site}</a></div>"
              f"<nav>{_menu(rng, site, rng.sample(nav, min(len(nav), rng.randint(4, 8))))}</nav></header>")
    side = ""
    if template in ("blog", "portal", "cms"):
        side = ("<aside class='sidebar'><h3>Recent posts</h3>" +
                _menu(rng, site, [f"Post {rng.randint(10, 999)}" for _ in range(rng.randint(3, 6))]) +
                "<h3>Archives</h3>" + _menu(rng, site, [f"{m} {rng.choice([2019, 2020, 2021, 2022, 2023])}"
                                                        for m in rng.sample(["January", "March", "May", "July", "September", "November"], 3)]) +
                "</aside>")
    cookie = ("<div class='cookie'>We use cookies to improve your experience. By continuing you accept our "
              f"<a href='https://{site}/privacy'>cookie policy</a>. <button>OK</button></div>") if rng.random() < 0.5 else ""
    crumbs = (f"<div class='breadcrumb'><a href='https://{site}/'>Home</a> &raquo; "
              f"<a href='https://{site}/category/'>Category</a> &raquo; {htmllib.escape(title[:40])}</div>")
    meta = f"<p class='meta'>Posted on {rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(2015, 2024)} by admin</p>" \
        if template in ("blog", "cms") else ""
    comments = ("<section class='comments'><h3>Leave a Reply</h3><form><textarea></textarea>"
                "<button>Post Comment</button></form></section>") if template in ("blog", "forum") else ""
    footer = (f"<footer>{_menu(rng, site, rng.sample(nav, 4))}<p>&copy; {rng.randint(2008, 2024)} {site}. "
              "All rights reserved.</p></footer>")
    return (head + header + cookie + crumbs + f"<main><article><h1>{htmllib.escape(title)}</h1>{meta}"
            f"{body_html}</article>{comments}</main>{side}{footer}</body></html>")


def paragraphs(rng: random.Random, sentences: list[str], per: tuple[int, int] = (2, 6)) -> str:
    out, i = [], 0
    while i < len(sentences):
        n = rng.randint(*per)
        out.append("<p>" + htmllib.escape(" ".join(sentences[i:i + n])) + "</p>")
        i += n
    return "".join(out)


def _sentence_case(ws: list[str], end: str = ".") -> str:
    if not ws:
        return ""
    s = " ".join(ws)
    return s[0].upper() + s[1:] + end


# --------------------------------------------------------------------------------------------
# junk generators: each returns (variant, url, title, html or None, text/plain body or None)


_LETTER_FREQ = "eeeeeeeeeeeetttttttttaaaaaaaaooooooooiiiiiiinnnnnnnssssssrrrrrrhhhhhhlllldddduuucccmmmwwffggyyppbbvkjxqz"


def random_tokens(rng: random.Random, ref: Reference, n: int):
    variant = rng.choice(["uniform_latin", "weighted_latin", "cyrillic", "greek", "cjk", "alnum_ids", "hex_base64"])
    count = rng.randint(60, 900)
    if variant == "uniform_latin":
        toks = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 12))) for _ in range(count)]
    elif variant == "weighted_latin":
        toks = ["".join(rng.choices(_LETTER_FREQ, k=max(1, int(rng.expovariate(1 / 5))))) for _ in range(count)]
    elif variant == "cyrillic":
        toks = ["".join(rng.choices("абвгдежзийклмнопрстуфхцчшщыьэюя", k=rng.randint(2, 11))) for _ in range(count)]
    elif variant == "greek":
        toks = ["".join(rng.choices("αβγδεζηθικλμνξοπρστυφχψω", k=rng.randint(2, 10))) for _ in range(count)]
    elif variant == "cjk":
        toks = ["".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(8, 40))) for _ in range(count // 8 + 5)]
    elif variant == "alnum_ids":
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        toks = ["".join(rng.choices(alphabet, k=rng.randint(6, 24))) for _ in range(count)]
    else:
        toks = [rng.choice([f"{rng.getrandbits(128):032x}", base64.b64encode(rng.randbytes(rng.randint(12, 48))).decode()])
                for _ in range(count)]
    punct = variant in ("uniform_latin", "weighted_latin", "cyrillic", "greek") and rng.random() < 0.6
    sents, i = [], 0
    while i < len(toks):
        k = rng.randint(5, 16)
        sents.append(_sentence_case(toks[i:i + k]) if punct else " ".join(toks[i:i + k]))
        i += k
    title = " ".join(toks[:rng.randint(2, 6)]).title()
    return variant, title, paragraphs(rng, sents, (1, 5)), "en"


class _Freq:
    """Unigram distributions of real text, one per language."""

    def __init__(self, ref: Reference):
        self.dist = {}
        for lang, texts in ref.by_lang.items():
            c = collections.Counter(w for t in texts for w in words(t))
            if sum(c.values()) >= 1000:
                ws, counts = zip(*sorted(c.items()))
                self.dist[lang] = (list(ws), list(counts))

    def draw(self, rng: random.Random, lang: str, k: int) -> list[str]:
        ws, counts = self.dist[lang]
        return rng.choices(ws, weights=counts, k=k)


def word_salad(rng: random.Random, ref: Reference, freq: _Freq, n: int):
    lang = rng.choice(["en", "en", "en", "de", "de", "es", "fr"] if "fr" in freq.dist else ["en", "en", "de", "es"])
    lang = lang if lang in freq.dist else "en"
    count = rng.randint(80, 900)
    toks = freq.draw(rng, lang, count)
    style = rng.choice(["sentences", "sentences", "run_on", "lines"])
    if style == "sentences":
        sents, i = [], 0
        while i < len(toks):
            k = rng.randint(6, 22)
            sents.append(_sentence_case(toks[i:i + k], rng.choice(".....!?")))
            i += k
        body = paragraphs(rng, sents)
    elif style == "run_on":
        body = "<p>" + htmllib.escape(" ".join(toks)) + "</p>"
    else:
        body = "".join(f"<p>{htmllib.escape(' '.join(toks[i:i + 12]))}</p>" for i in range(0, len(toks), 12))
    title = " ".join(freq.draw(rng, lang, rng.randint(3, 8))).title()
    return f"{lang}_{style}", title, body, lang


def markov(rng: random.Random, ref: Reference, chains: dict, n: int):
    lang = rng.choice(["en", "en", "en", "de", "de", "es"])
    k = rng.choice([1, 2])
    chain = chains.get((lang, k)) or chains[("en", k)]
    target = rng.randint(80, 900)
    sents, total = [], 0
    while total < target:
        s = chain.sentence(rng)
        if len(s) < 3:
            continue
        sents.append(_sentence_case(s))
        total += len(s)
    title = " ".join(chain.sentence(rng, 8)) or "Untitled"
    return f"{lang}_order{k}", title.title(), paragraphs(rng, sents), lang


_SEO = {
    "en": {
        "kw": ["cheap car insurance", "payday loans online", "best online casino", "replica watches", "buy essay online",
               "weight loss pills", "cheap flights", "viagra without prescription", "seo services", "bitcoin casino",
               "emergency plumber", "water damage restoration", "personal injury lawyer", "cbd oil for sale",
               "keto diet pills", "free slots no download", "cheap web hosting", "garage door repair"],
        "mods": ["best", "cheap", "top", "affordable", "fast", "online", "near me", "2024", "reviews", "discount",
                 "free", "no credit check", "same day", "24/7", "official", "trusted", "instant"],
        "cities": ["New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Dallas", "Austin", "San Diego",
                   "Denver", "Seattle", "Miami", "Atlanta", "Boston", "Las Vegas", "Portland", "Orlando", "Tampa"],
        "frames": ["Looking for {kw}? We offer the {mod} {kw} {city}.", "Our {kw} is the {mod} {kw} you can find.",
                   "Get {mod} {kw} today and save on {kw}.", "{Kw} {city} - {mod} {kw} {city} - {kw} {mod}.",
                   "Why choose our {kw}? Because {kw} from us is {mod} and {mod}.",
                   "Call now for {mod} {kw} in {city} and {city}.", "Compare {kw} prices: {mod} {kw}, {mod} {kw}.",
                   "The {mod} {kw} {city} has to offer: {kw}, {kw}, {kw}.", "Click here for {kw}!"],
    },
    "de": {
        "kw": ["günstige kfz versicherung", "kredit ohne schufa", "online casino echtgeld", "schlüsseldienst",
               "abnehmen schnell", "billige flüge", "umzugsfirma", "rechtsanwalt arbeitsrecht"],
        "mods": ["günstig", "billig", "sofort", "seriös", "beste", "online", "kostenlos", "2024", "vergleich", "test"],
        "cities": ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Düsseldorf", "Leipzig", "Dortmund"],
        "frames": ["Sie suchen {kw}? Wir bieten {mod} {kw} in {city}.", "{Kw} {city} - {kw} {mod} - {kw} {city}.",
                   "Jetzt {kw} {mod} vergleichen und {kw} sparen!", "Ihr {kw} in {city}: {mod}, {mod}, {kw}.",
                   "{Kw} {mod}: {kw} {city}, {kw} {city}, {kw} {city}."],
    },
}


def seo_spam(rng: random.Random, ref: Reference, freq: _Freq, n: int):
    lang = "de" if rng.random() < 0.25 else "en"
    s = _SEO[lang]
    main = rng.sample(s["kw"], rng.randint(1, 3))
    variant = rng.choice(["spun_copy", "city_list", "keyword_tags", "spun_copy_with_filler"])

    def fill(frame):
        kw = rng.choice(main)
        return frame.format(kw=kw, Kw=kw.capitalize(), mod=rng.choice(s["mods"]), city=rng.choice(s["cities"]))

    if variant.startswith("spun_copy"):
        sents = []
        for _ in range(rng.randint(12, 70)):
            f = fill(rng.choice(s["frames"]))
            if variant.endswith("filler") and lang in freq.dist:  # stuffing inside otherwise plausible words
                f += " " + _sentence_case(freq.draw(rng, lang, rng.randint(5, 12)))
            sents.append(f)
        body = paragraphs(rng, sents)
    elif variant == "city_list":
        kw = main[0]
        items = [f"{kw} {c}" if rng.random() < 0.5 else f"{rng.choice(s['mods'])} {kw} {c}"
                 for c in rng.choices(s["cities"], k=rng.randint(25, 120))]
        body = "<p>" + htmllib.escape(fill(rng.choice(s["frames"]))) + "</p><p>" + htmllib.escape(", ".join(items)) + "</p>"
    else:
        tags = [f"{rng.choice(s['mods'])} {rng.choice(main)}" for _ in range(rng.randint(40, 200))]
        body = "".join(f"<p>{htmllib.escape(fill(rng.choice(s['frames'])))}</p>" for _ in range(rng.randint(2, 5)))
        body += "<div class='tags'><b>Tags:</b> " + htmllib.escape(", ".join(tags)) + "</div>"
    title = f"{main[0].title()} {rng.choice(s['mods']).title()} {rng.choice(s['cities'])}"
    return f"{lang}_{variant}", title, body, lang


def link_farm(rng: random.Random, ref: Reference, freq: _Freq, n: int):
    variant = rng.choice(["directory", "category_pagination", "tag_cloud", "sitemap", "parked_domain"])
    site = _site(rng)
    vocab = freq.dist["en"][0]
    kws = [k for s in _SEO.values() for k in s["kw"]]

    def anchor(text, host=None):
        host = host or _site(rng)
        return f"<a href='https://{host}/{_slug(rng, vocab)}'>{htmllib.escape(text)}</a>"

    if variant == "directory":
        body = ""
        for _ in range(rng.randint(3, 8)):
            body += f"<h2>{htmllib.escape(rng.choice(kws).title())}</h2><ul>"
            for _ in range(rng.randint(8, 30)):
                h = _site(rng)
                body += f"<li>{anchor(rng.choice(kws + ref.titles).title(), h)} - {h}</li>"
            body += "</ul>"
    elif variant == "category_pagination":
        body = "".join(f"<div class='teaser'><h2>{anchor(rng.choice(ref.titles), site)}</h2>"
                       f"<span>{rng.randint(1, 28)} {rng.choice(['Jan', 'Feb', 'Mar', 'Apr', 'Jun'])} | "
                       f"{rng.randint(0, 40)} comments</span> {anchor('Read more »', site)}</div>"
                       for _ in range(rng.randint(10, 30)))
        body += "<div class='pages'>" + " ".join(anchor(str(i), site) for i in range(1, rng.randint(6, 20))) + \
            f" {anchor('Next »', site)} {anchor('Last', site)}</div>"
    elif variant == "tag_cloud":
        body = "<div class='tagcloud'>" + " ".join(
            f"<a style='font-size:{rng.randint(8, 22)}pt' href='https://{site}/tag/{_slug(rng, vocab, 1)}'>"
            f"{htmllib.escape(w)}</a>" for w in freq.draw(rng, "en", rng.randint(60, 250))) + "</div>"
    elif variant == "sitemap":
        body = "<ul>" + "".join(f"<li>{anchor(rng.choice(ref.titles), site)}<ul>" +
                                "".join(f"<li>{anchor(t, site)}</li>" for t in rng.sample(ref.titles, rng.randint(2, 8))) +
                                "</ul></li>" for _ in range(rng.randint(8, 25))) + "</ul>"
    else:
        body = (f"<p>{site} is for sale! Related searches:</p><ul>" +
                "".join(f"<li>{anchor(rng.choice(kws).title())}</li>" for _ in range(rng.randint(8, 24))) +
                "</ul><p>Privacy Policy | Copyright 2024 | This domain may be for sale.</p>")
    title = rng.choice(["Links", "Directory", "Sitemap", "Tags", "Category Archives", "Related searches",
                        rng.choice(kws).title()])
    return variant, title, body, "en"


_PATHS = ["/", "/index.php", "/wp-login.php", "/api/v1/users", "/static/app.js", "/images/logo.png",
          "/search?q=test", "/cart/add", "/robots.txt", "/favicon.ico", "/admin/", "/feed.xml", "/xmlrpc.php"]
_UAS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/7.68.0",
        "python-requests/2.31.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"]


def _ip(rng):
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def machine_logs(rng: random.Random, ref: Reference, n: int):
    variant = rng.choice(["apache_access", "nginx_error", "syslog", "python_traceback", "json_lines", "ci_build"])
    t = datetime(2023, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randint(0, 30_000_000))
    lines = []
    for i in range(rng.randint(20, 300)):
        t += timedelta(seconds=rng.randint(0, 30), microseconds=rng.randint(0, 999999))
        if variant == "apache_access":
            lines.append(f'{_ip(rng)} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "{rng.choice(["GET", "GET", "POST", "HEAD"])} '
                         f'{rng.choice(_PATHS)} HTTP/1.1" {rng.choice([200, 200, 200, 301, 304, 404, 500])} '
                         f'{rng.randint(0, 50000)} "-" "{rng.choice(_UAS)}"')
        elif variant == "nginx_error":
            lines.append(f"{t:%Y/%m/%d %H:%M:%S} [{rng.choice(['error', 'warn', 'crit'])}] {rng.randint(100, 9999)}#0: "
                         f"*{rng.randint(1, 99999)} {rng.choice(['open()', 'connect()', 'upstream timed out', 'recv()'])} "
                         f"failed (2: No such file or directory), client: {_ip(rng)}, server: _, request: "
                         f"\"GET {rng.choice(_PATHS)} HTTP/1.1\", host: \"{_site(rng)}\"")
        elif variant == "syslog":
            proc = rng.choice(["sshd", "CRON", "kernel", "systemd", "dhclient", "postfix/smtpd"])
            msg = rng.choice([f"Accepted publickey for root from {_ip(rng)} port {rng.randint(1024, 65535)} ssh2",
                              "pam_unix(cron:session): session opened for user root by (uid=0)",
                              f"[{rng.uniform(0, 99999):.6f}] eth0: link up, 1000Mbps, full-duplex",
                              f"Started Session {rng.randint(1, 9999)} of user www-data.",
                              f"DHCPACK of {_ip(rng)} from {_ip(rng)}",
                              f"connect from unknown[{_ip(rng)}]"])
            lines.append(f"{t:%b %d %H:%M:%S} host{rng.randint(1, 9)} {proc}[{rng.randint(100, 99999)}]: {msg}")
        elif variant == "python_traceback":
            if rng.random() < 0.15:
                lines += ["Traceback (most recent call last):"] + [
                    f'  File "/usr/lib/python3/dist-packages/{rng.choice(["app", "worker", "db", "api"])}/'
                    f'{rng.choice(["views", "models", "tasks", "utils"])}.py", line {rng.randint(10, 900)}, in '
                    f"{rng.choice(['handle', 'run', 'process', 'get', 'save'])}" for _ in range(rng.randint(2, 6))] + [
                    rng.choice(["KeyError: 'user_id'", "ConnectionRefusedError: [Errno 111] Connection refused",
                                "AttributeError: 'NoneType' object has no attribute 'id'"])]
            else:
                lines.append(f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {rng.choice(['INFO', 'INFO', 'DEBUG', 'WARNING'])} "
                             f"[{rng.choice(['worker', 'celery', 'django.request', 'urllib3'])}] "
                             f"{rng.choice(['Task', 'Request', 'Job'])} {uuid.UUID(int=rng.getrandbits(128))} "
                             f"{rng.choice(['succeeded', 'received', 'retrying', 'finished'])} in {rng.uniform(0, 5):.3f}s")
        elif variant == "json_lines":
            lines.append(json.dumps({"ts": t.isoformat(), "level": rng.choice(["info", "debug", "warn", "error"]),
                                     "msg": rng.choice(["request completed", "cache miss", "db query", "retrying"]),
                                     "status": rng.choice([200, 201, 404, 500]), "latency_ms": rng.randint(1, 3000),
                                     "path": rng.choice(_PATHS), "trace_id": f"{rng.getrandbits(64):016x}"}))
        else:
            lines.append(rng.choice([
                f"[{i:4d}/{rng.randint(300, 900)}] Building CXX object src/CMakeFiles/core.dir/{_slug(rng, ['io', 'net', 'util', 'core', 'hash'], 2)}.cpp.o",
                f"gcc -O2 -Wall -fPIC -I/usr/include/python3.11 -c src/{_slug(rng, ['module', 'ext', 'fast'], 1)}.c -o build/temp/{rng.getrandbits(32):08x}.o",
                f"warning: unused variable 'tmp{rng.randint(0, 99)}' [-Wunused-variable]",
                f"npm WARN deprecated {rng.choice(['request', 'uuid', 'har-validator'])}@{rng.randint(1, 9)}.{rng.randint(0, 20)}.0",
                f"ok {rng.randint(1, 999)} - test_{_slug(rng, ['parse', 'load', 'save', 'user', 'auth'], 2).replace('-', '_')} ({rng.randint(1, 900)} ms)",
                f"Step {rng.randint(1, 30)}/{rng.randint(30, 40)} : RUN apt-get install -y {rng.choice(['curl', 'git', 'make'])}",
                f"Downloading https://files.pythonhosted.org/packages/{rng.getrandbits(64):016x}/pkg-{rng.randint(1, 9)}.0.tar.gz"]))
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.5:
        return variant + "_raw", None, None, text
    return variant + "_viewer", f"{variant.replace('_', ' ')} log {t:%Y-%m-%d}", \
        f"<pre class='log'>{htmllib.escape(text)}</pre>", None


def _mangle(text: str, how: str) -> str:
    if how == "utf8_as_cp1252":
        return text.encode("utf-8").decode("cp1252", errors="replace")
    if how == "utf8_as_latin1":
        return text.encode("utf-8").decode("latin-1")
    if how == "double_utf8_as_cp1252":
        once = text.encode("utf-8").decode("cp1252", errors="replace")
        return once.encode("utf-8").decode("cp1252", errors="replace")
    if how == "cp1251_as_cp1252":
        return text.encode("cp1251", errors="replace").decode("cp1252", errors="replace")
    if how == "koi8r_as_cp1251":
        return text.encode("koi8_r", errors="replace").decode("cp1251", errors="replace")
    if how == "sjis_as_cp1252":
        return text.encode("shift_jis", errors="replace").decode("cp1252", errors="replace")
    if how == "utf8_as_cp1251":
        return text.encode("utf-8").decode("cp1251", errors="replace")
    raise ValueError(how)


def _fits(text: str, enc: str) -> bool:
    try:
        text.encode(enc)
        return True
    except UnicodeEncodeError:
        return False


def mojibake(rng: random.Random, ref: Reference, n: int):
    for _ in range(100):
        lang, text = rng.choice(ref.nonascii)
        options = ["utf8_as_cp1252", "utf8_as_cp1252", "double_utf8_as_cp1252", "utf8_as_latin1", "utf8_as_cp1251"]
        if lang in ("ru", "uk", "bg", "kk", "ky") and _fits(text, "cp1251"):
            options += ["cp1251_as_cp1252", "koi8r_as_cp1251"] if _fits(text, "koi8_r") else ["cp1251_as_cp1252"]
        if lang in ("ja",) and _fits(text, "shift_jis"):
            options += ["sjis_as_cp1252", "sjis_as_cp1252"]
        how = rng.choice(options)
        bad = _mangle(text, how)
        bad = "".join(c for c in bad if c in "\n\t" or (ord(c) >= 32 and not 0x7f <= ord(c) < 0xa0))
        if bad != text and len(bad) > 200:
            break
    lines = [ln for ln in bad.split("\n") if ln.strip()]
    title = lines[0][:80] if lines else "Article"
    body = "".join(f"<p>{htmllib.escape(ln)}</p>" for ln in lines[1:] or lines)
    return f"{lang}_{how}", title, body, lang


# --------------------------------------------------------------------------------------------
# real pages


def _stdlib_modules() -> list[Path]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    mods = []
    for p in sorted(lib.glob("*.py")):
        name = p.stem
        if name.startswith("_") or name in _TRAINED_STDLIB or name.startswith("test") or name == "this":
            continue
        mods.append(p)
    return mods


def code_pages(rng: random.Random, n: int) -> list[tuple[str, str, str | None, str | None]]:
    """``n`` pages of standard-library source: (variant, url, html, text/plain body)."""
    mods = _stdlib_modules()
    rng.shuffle(mods)
    out = []
    for path in mods:
        if len(out) >= n:
            break
        src = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        lines = src.split("\n")
        name = path.stem
        ver = sysconfig.get_python_version()
        variant = rng.choice(["blob", "blob", "raw", "tutorial"])
        if variant == "tutorial":
            funcs = [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.ClassDef))
                     and 6 <= f.end_lineno - f.lineno <= 80 and ast.get_docstring(f)]
            if not funcs:
                variant = "blob"
            else:
                f = rng.choice(funcs)
                code = "\n".join(lines[f.lineno - 1:f.end_lineno])
                doc = ast.get_docstring(f) or ""
                mdoc = (ast.get_docstring(tree) or "").strip()
                intro = mdoc.split("\n\n")[0] if mdoc else f"The {name} module is part of the Python standard library."
                body = (f"<p>{htmllib.escape(intro)}</p><p>Here is how <code>{name}.{f.name}</code> is implemented in "
                        f"CPython {ver}:</p><pre><code class='language-python'>{htmllib.escape(code)}</code></pre>"
                        f"<p>{htmllib.escape(' '.join(doc.split()))}</p>")
                site = rng.choice(["pythonsnippets.dev", "code-reading.blog", "learnpy.net"])
                url = f"https://{site}/{name}/{f.name.lower()}-explained"
                out.append(("tutorial", url, page(rng, site, f"How {name}.{f.name} works", body,
                                                  template=rng.choice(["blog", "cms"])), None))
                continue
        start = rng.randint(0, max(0, len(lines) - 60)) if rng.random() < 0.5 else 0
        chunk = "\n".join(lines[start:start + rng.randint(60, 300)])
        if variant == "raw":
            url = f"https://raw.githubusercontent.com/python/cpython/{ver}/Lib/{name}.py"
            out.append(("raw", url, None, chunk))
        else:
            url = f"https://github.com/python/cpython/blob/{ver}/Lib/{name}.py"
            body = (f"<div class='file-header'><span>{len(lines)} lines</span> <a href='{url}?raw=1'>Raw</a> "
                    f"<a href='{url}?blame=1'>Blame</a></div><pre><code>{htmllib.escape(chunk)}</code></pre>")
            out.append(("blob", url, page(rng, "github.com", f"cpython/Lib/{name}.py at {ver}", body, template="portal"), None))
    return out


def _clean_gsm8k(answer: str, keep_calc: bool) -> str:
    if not keep_calc:
        answer = re.sub(r"<<[^>]*>>", "", answer)
    return re.sub(r"####\s*(.+)$", r"Answer: \1", answer.strip())


def math_pages(rng: random.Random, n: int, rows: list[dict] | None = None) -> list[tuple[str, str, str]]:
    """``n`` pages of GSM8K worked answers (rows with ``id`` and ``text`` = question, newline, answer;
    default: the train problems of domain.jsonl.gz): (variant, url, html)."""
    if rows is None:
        rows = [r for r in _jsonl(CLASSIFIER_DATA / "domain.jsonl.gz") if r["source"] == "gsm8k train"]
    rows = list(rows)
    rng.shuffle(rows)
    out, i = [], 0
    while len(out) < n and i < len(rows):
        variant = rng.choice(["qa", "qa", "worksheet"])
        k = 1 if variant == "qa" else rng.randint(3, 6)
        probs, i = rows[i:i + k], i + k
        keep_calc = rng.random() < 0.3
        parts = []
        for r in probs:
            q, _, a = r["text"].partition("\n")
            parts.append((q.strip(), _clean_gsm8k(a, keep_calc)))
        site = rng.choice(["mathhelpforum.example", "homework-answers.example", "gradeschoolmath.example"])
        if variant == "qa":
            q, a = parts[0]
            body = (f"<div class='question'><p>{htmllib.escape(q)}</p></div><h2>Best answer</h2>"
                    + "".join(f"<p>{htmllib.escape(ln)}</p>" for ln in a.split("\n")))
            title = " ".join(q.split()[:10]) + "..."
        else:
            body = "".join(f"<h3>Problem {j + 1}</h3><p>{htmllib.escape(q)}</p><h4>Solution</h4>"
                           + "".join(f"<p>{htmllib.escape(ln)}</p>" for ln in a.split("\n"))
                           for j, (q, a) in enumerate(parts))
            title = f"Word problems with worked answers, set {len(out) + 1}"
        url = f"https://{site}/{variant}/{zlib.crc32(probs[0]['id'].encode()):08x}"
        out.append((f"{variant}{'_calc' if keep_calc else ''}", url,
                    page(rng, site, title, body, template=rng.choice(["forum", "blog", "bare"]))))
    return out


def news_pages() -> list[tuple[str, str, bytes]]:
    gt = json.loads((SAMPLE / "html" / "scrapinghub" / "ground-truth.json").read_text())
    out = []
    for f in sorted((SAMPLE / "html" / "scrapinghub").glob("*.html.gz")):
        key = f.name.split(".")[0]
        out.append(("aeb", gt[key]["url"], gzip.decompress(f.read_bytes())))
    return out


def prose_pages() -> list[tuple[str, str, bytes]]:
    out = []
    for f in sorted((SAMPLE / "html" / "readability").glob("*.html.gz")):
        case = f.name.split(".")[0]
        out.append(("readability", f"https://{case}.readability-test.example/article", gzip.decompress(f.read_bytes())))
    ev = json.loads((SAMPLE / "html" / "trafilatura" / "evaldata.json").read_text())
    for name in sorted(ev):
        f = SAMPLE / "html" / "trafilatura" / name
        if f.is_file():
            host = re.sub(r"^(\w+::)?(https?://)?", "", ev[name]["url"]).removesuffix(".html").strip("/")
            out.append(("trafilatura", f"https://{host}/{name.split('.')[0]}", gzip.decompress(f.read_bytes())))
    return out


# --------------------------------------------------------------------------------------------
# writing


@dataclass
class Doc:
    url: str
    kind: str
    variant: str
    body: bytes
    ctype: str = "text/html; charset=utf-8"


def _warc_record(rng: random.Random, doc: Doc, when: datetime) -> bytes:
    http = (f"HTTP/1.1 200 OK\r\nContent-Type: {doc.ctype}\r\nContent-Length: {len(doc.body)}\r\n"
            f"Server: nginx\r\n\r\n").encode() + doc.body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>\r\n"
            f"WARC-Date: {when:%Y-%m-%dT%H:%M:%SZ}\r\nWARC-Target-URI: {doc.url}\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n").encode()
    return gzip.compress(head + http + b"\r\n\r\n", mtime=0)


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(seed * 1_000_003 + zlib.crc32(name.encode()))


def generate(per_kind: int = 40, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> tuple[list[Doc], list[dict]]:
    """The corpus in memory: web documents (WARC) and UDHR rows (JSONL), of ``kinds`` only."""
    ref = Reference.load()
    freq = _Freq(ref)
    chains = {(lang, k): Markov(ref.by_lang[lang], k) for lang in ("en", "de", "es") if lang in ref.by_lang
              for k in (1, 2)}
    docs: list[Doc] = []
    used: set[str] = set()

    def add(kind, variant, url, html=None, text=None):
        while url in used:
            url += "-2"
        used.add(url)
        if html is not None:
            docs.append(Doc(url, kind, variant, html.encode("utf-8") if isinstance(html, str) else html))
        else:
            docs.append(Doc(url, kind, variant, text.encode("utf-8"), "text/plain; charset=utf-8"))

    gens = {"random_tokens": lambda r, i: random_tokens(r, ref, i),
            "word_salad": lambda r, i: word_salad(r, ref, freq, i),
            "markov": lambda r, i: markov(r, ref, chains, i),
            "seo_spam": lambda r, i: seo_spam(r, ref, freq, i),
            "link_farm": lambda r, i: link_farm(r, ref, freq, i),
            "mojibake": lambda r, i: mojibake(r, ref, i)}
    vocab = freq.dist["en"][0]
    for kind, gen in gens.items():
        if kind not in kinds:
            continue
        rng = _rng(seed, kind)
        for i in range(per_kind):
            variant, title, body, lang = gen(rng, i)
            site = _site(rng)
            url = f"https://{site}/{rng.choice(['', 'blog/', 'p/', 'article/', 'page/', str(rng.randint(2015, 2024)) + '/'])}" \
                  f"{_slug(rng, vocab)}{rng.choice(['', '.html', '.php', '/'])}"
            add(kind, variant, url, page(rng, site, title, body, lang=lang))
    rng = _rng(seed, "machine_logs")
    for i in range(per_kind if "machine_logs" in kinds else 0):
        variant, title, body, text = machine_logs(rng, ref, i)
        site = _site(rng)
        if text is not None:
            add("machine_logs", variant, f"https://{site}/{rng.choice(['logs', 'var/log', 'debug', 'tmp'])}/"
                                         f"{rng.choice(['access', 'error', 'app', 'build', 'output'])}{rng.randint(1, 99)}"
                                         f"{rng.choice(['.log', '.txt', ''])}", text=text)
        else:
            add("machine_logs", variant, f"https://{site}/ci/jobs/{rng.randint(1000, 99999)}/console",
                page(rng, site, title, body, template=rng.choice(["bare", "portal"])))
    rng = _rng(seed, "code")
    for variant, url, html, text in code_pages(rng, per_kind if "code" in kinds else 0):
        add("code", variant, url, html, text)
    rng = _rng(seed, "math")
    for variant, url, html in math_pages(rng, per_kind if "math" in kinds else 0):
        add("math", variant, url, html)
    for variant, url, raw in news_pages() if "news" in kinds else []:
        add("news", variant, url, raw)
    for variant, url, raw in prose_pages() if "prose" in kinds else []:
        add("prose", variant, url, raw)
    udhr = []
    for r in _jsonl(SAMPLE / "text" / "udhr_60.jsonl.gz") if "udhr" in kinds else []:
        url = f"https://www.ohchr.org/udhr/{r['id']}/{r['lang_hint']}"
        udhr.append({"id": r["id"], "url": url, "text": r["text"], "lang_hint": r["lang_hint"], "kind": "udhr"})
    return docs, udhr


def build(out: str | Path, per_kind: int = 40, seed: int = 0, warc_bytes: int = 900_000,
          kinds: tuple[str, ...] = KINDS) -> dict:
    """Write the corpus under ``out``: ``web/crawl-NN.warc.gz``, ``text/udhr.jsonl.gz`` and
    ``kinds.jsonl``. Deterministic: the same (per_kind, seed, kinds) gives the same bytes."""
    out = Path(out)
    (out / "web").mkdir(parents=True, exist_ok=True)
    (out / "text").mkdir(parents=True, exist_ok=True)
    docs, udhr = generate(per_kind, seed, kinds)
    rows = write_web(out / "web", "crawl", docs, seed, warc_bytes)
    if udhr:
        write_jsonl(out / "text" / "udhr.jsonl.gz", udhr)
    rows += [{"url": r["url"], "kind": "udhr", "junk": False, "variant": r["lang_hint"]} for r in udhr]
    (out / "kinds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    counts = collections.Counter(r["kind"] for r in rows)
    return {"out": str(out), "docs": len(rows), "kinds": dict(sorted(counts.items()))}


def write_web(folder: Path, prefix: str, docs: list[Doc], seed: int, warc_bytes: int = 900_000) -> list[dict]:
    """``docs`` shuffled (seeded) into ``folder/PREFIX-NN.warc.gz`` files of about ``warc_bytes``
    each; returns their kinds.jsonl rows."""
    rng = _rng(seed, "crawl")
    order = list(range(len(docs)))
    rng.shuffle(order)
    t0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
    files, cur, size = [], [], 0
    for j in order:
        rec = _warc_record(rng, docs[j], t0 + timedelta(seconds=rng.randint(0, 86400 * 30)))
        if cur and size + len(rec) > warc_bytes:
            files.append(cur)
            cur, size = [], 0
        cur.append(rec)
        size += len(rec)
    if cur:
        files.append(cur)
    for k, recs in enumerate(files):
        (folder / f"{prefix}-{k:02d}.warc.gz").write_bytes(b"".join(recs))
    return [{"url": d.url, "kind": d.kind, "junk": d.kind in JUNK_KINDS, "variant": d.variant} for d in docs]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """A text table the pipeline reads (``id``, ``url``, ``text``), gzipped without a timestamp."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        for r in rows:
            gz.write((json.dumps({"id": r["id"], "url": r["url"], "text": r["text"]}, ensure_ascii=False) + "\n").encode())
    path.write_bytes(buf.getvalue())


def load_kinds(corpus: str | Path) -> dict[str, dict]:
    return {r["url"]: r for r in map(json.loads, (Path(corpus) / "kinds.jsonl").read_text().splitlines())}


# --------------------------------------------------------------------------------------------
# reading a run back


def outcomes(run: str, corpus: str | Path, last_filter: str | None = None) -> dict:
    """Per document of the corpus (by URL): ``removed_by`` (the stage that rejected it, or None),
    ``reason``, ``kept_before_mix`` (present in the output of the last stage before ``mix``),
    ``lang`` and ``domain`` there. ``last_filter`` defaults to the stage just before ``mix``."""
    from curation import query as q
    from curation.run.views import columns, quote

    con = q.connect(run)
    run_json = json.loads(con.execute("SELECT json FROM run").fetchone()[0])
    stages = [s.get("name") or s["op"] for s in run_json["config"]["stages"]]
    if last_filter is None:
        last_filter = stages[stages.index("mix") - 1] if "mix" in stages else stages[-1]
    kinds = load_kinds(corpus)
    res = {u: {**k, "removed_by": None, "reason": None, "kept_before_mix": False, "lang": None, "domain": None}
           for u, k in kinds.items()}
    views = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "rejected" in views:
        for url, stage, reason in con.execute("SELECT url, stage, reason FROM rejected").fetchall():
            if url in res:
                res[url]["removed_by"], res[url]["reason"] = stage, reason
    view = re.sub(r"\W", "_", last_filter)
    cols = columns(con, view)
    sel = ", ".join(c if c in cols else f"NULL AS {c}" for c in ("url", "lang", "domain"))
    for url, lang, domain in con.execute(f"SELECT {sel} FROM {quote(view)}").fetchall():
        if url in res:
            res[url].update(kept_before_mix=True, lang=lang, domain=domain)
    return {"stages": stages, "last_filter": last_filter, "docs": res}


def figures(run: str, corpus: str | Path) -> dict:
    """Per kind: n, removed (by a stage other than mix), kept_before_mix, by_stage, und_multilingual."""
    o = outcomes(run, corpus)
    per: dict[str, dict] = {}
    for d in o["docs"].values():
        f = per.setdefault(d["kind"], {"n": 0, "removed": 0, "kept_before_mix": 0, "by_stage": collections.Counter(),
                                       "by_reason": collections.Counter(), "by_variant": {}})
        f["n"] += 1
        v = f["by_variant"].setdefault(d["variant"] if d["kind"] != "udhr" else "udhr", [0, 0])  # [removed, n]
        v[1] += 1
        if d["removed_by"] and d["removed_by"] != "mix":
            f["removed"] += 1
            v[0] += 1
            f["by_stage"][d["removed_by"]] += 1
            f["by_reason"][f"{d['removed_by']}:{d['reason']}"] += 1
        f["kept_before_mix"] += d["kept_before_mix"]
    for f in per.values():
        f["removed_rate"] = round(f["removed"] / f["n"], 3)
        f["kept_rate"] = round(f["kept_before_mix"] / f["n"], 3)
        f["by_stage"], f["by_reason"] = dict(f["by_stage"]), dict(f["by_reason"].most_common())
    junk = [d for d in o["docs"].values() if d["junk"]]
    removed = sum(1 for d in junk if d["removed_by"] and d["removed_by"] != "mix")
    und_multi = sum(1 for d in o["docs"].values() if d["kept_before_mix"] and d["lang"] == "und" and d["domain"] == "multilingual")
    return {"kinds": dict(sorted(per.items(), key=lambda kv: KINDS.index(kv[0]) if kv[0] in KINDS else 99)),
            "junk_removed_rate": round(removed / max(1, len(junk)), 3), "und_labelled_multilingual": und_multi,
            "last_filter": o["last_filter"]}


def print_figures(fig: dict, file=sys.stdout) -> None:
    print(f"{'kind':14} {'n':>4} {'removed':>8} {'kept':>6}  removed by stage", file=file)
    for kind, f in fig["kinds"].items():
        stages = ", ".join(f"{s} {c}" for s, c in sorted(f["by_stage"].items(), key=lambda kv: -kv[1]))
        print(f"{kind:14} {f['n']:4d} {f['removed_rate']:8.0%} {f['kept_rate']:6.0%}  {stages}", file=file)
    print(f"all junk removed (not by mix): {fig['junk_removed_rate']:.0%}; kept docs with lang und labelled "
          f"multilingual: {fig['und_labelled_multilingual']} (kept = through {fig['last_filter']})", file=file)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the corpus")
    b.add_argument("out")
    b.add_argument("--per-kind", type=int, default=40, help="pages per generated kind (default 40)")
    b.add_argument("--seed", type=int, default=0)
    f = sub.add_parser("figures", help="per-kind removal and keep rates of a run over the corpus")
    f.add_argument("run")
    f.add_argument("--corpus", required=True)
    f.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "build":
        print(json.dumps(build(a.out, a.per_kind, a.seed)))
    else:
        fig = figures(a.run, a.corpus)
        print(json.dumps(fig, indent=1)) if a.json else print_figures(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
