"""A corpus shaped like a crawl, for judging filtering by training (``bench/filter_value.py``).

Common Crawl is mostly not text anyone would train on: FineWeb keeps about 10% of its documents
after extraction, language and quality filtering and deduplication (Penedo et al. 2024, Fig. 2), and
DCLM's pool keeps under 2% of its pages (Li et al. 2024, Section 3). Our bundled junk generators
(:mod:`curation.evaluation.junk_corpus`) make the junk; this module mixes it with real pages the way
a crawl mixes them:

* **real pages**: the real kinds of the junk corpus (``sample/``: AEB news and Readability /
  trafilatura pages, ``code_pages`` standard-library code pages, ``math_pages`` pages of GSM8K
  train worked answers, the 60 bundled UDHR translations: math and code enough that the Llama 3 mix
  of a 200k-token evaluation needs at most 4 epochs of them) and, with ``shared`` (``../shared/data``), its real web pages: the Article
  Extraction Benchmark pages, trafilatura's evaluation pages (the first ``web_pages`` of them in a
  seeded order), Readability's real test pages, trafilatura's unannotated pages, the CCNet
  documents and the Clough & Stevenson short answers (Wikipedia sources with copies "cut", lightly
  and heavily rewritten from them: real near-duplicates). The AEB pages whose article body is in
  the bundled eval suite's ``news`` set are left out, so the training text never holds an eval text;
* **junk**: every junk kind, as many pages each as makes junk ``junk_share`` of all pages (near
  duplicates included);
* **near-duplicates**: ``near_dup_share`` of the pages again, each a mirror of a page (real or junk)
  on another host with one line of its own added ("Originally published ..."), as syndicated and
  scraped copies are.

Layout (what ``curate run`` reads): ``web/crawl-NN.warc.gz`` (the pages shuffled together),
``text/*.jsonl.gz`` (text tables: UDHR, CCNet, the short answers) and ``kinds.jsonl``, one
``{"url", "kind", "junk", "variant", "near_dup_of"}`` a document, so a run's outcome maps back to
kinds with :func:`curation.evaluation.junk_corpus.outcomes`. Deterministic: the same arguments give
the same bytes.
"""

from __future__ import annotations

import collections
import csv
import gzip
import json
import random
import re
from pathlib import Path

from curation.evaluation import junk_corpus as jc

#: Readability's hand-made edge cases are tiny synthetic pages; real cases' sources are bigger
MIN_READABILITY_BYTES = 8_000


def _jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _eval_news_heads() -> set[str]:
    """The first 200 characters of each bundled eval ``news`` text (whitespace collapsed)."""
    from curation.evaluation.suite import default_suite

    path = default_suite().get("news")
    return {" ".join(r["text"].split())[:200] for r in _jsonl(path)} if path else set()


def aeb_pages(shared: Path, skip_heads: set[str] = frozenset()) -> list[jc.Doc]:
    """The Article Extraction Benchmark pages (kind ``news``), but those whose article body starts
    (first 200 characters, whitespace collapsed) as one of ``skip_heads``."""
    aeb = shared / "html_extraction" / "scrapinghub_aeb"
    gt = json.loads((aeb / "ground-truth.json").read_text())
    docs = []
    for f in sorted((aeb / "html").glob("*.html.gz")):
        key = f.name.split(".")[0]
        if key in gt and " ".join(gt[key]["articleBody"].split())[:200] not in skip_heads:
            docs.append(jc.Doc(gt[key]["url"], "news", "aeb", gzip.decompress(f.read_bytes())))
    return docs


def trafilatura_pages(shared: Path, n: int, rng: random.Random, kind: str) -> list[jc.Doc]:
    """The first ``n`` of trafilatura's evaluation pages in an order shuffled by ``rng``, as ``kind``."""
    tra = shared / "html_extraction" / "trafilatura_eval"
    ev = json.loads((tra / "evaldata.json").read_text())
    urls = sorted(ev)
    rng.shuffle(urls)
    docs = []
    for url in urls[:n]:
        f = tra / "html" / (ev[url]["file"] + ".gz")
        if f.is_file():
            host = url.split("::", 1)[-1]
            docs.append(jc.Doc(host if host.startswith("http") else f"https://{host}", kind, "trafilatura",
                               gzip.decompress(f.read_bytes())))
    return docs


def readability_pages(shared: Path) -> list[jc.Doc]:
    """Readability's real test pages (kind ``prose``), its hand-made edge cases left out."""
    rd = shared / "html_extraction" / "mozilla_readability"
    docs = []
    for case in sorted(p for p in rd.iterdir() if (p / "source.html.gz").is_file()):
        raw = gzip.decompress((case / "source.html.gz").read_bytes())
        if len(raw) >= MIN_READABILITY_BYTES:
            docs.append(jc.Doc(f"https://{case.name}.readability-test.example/article", "prose", "readability", raw))
    return docs


def shared_pages(shared: Path, web_pages: int, seed: int) -> tuple[list[jc.Doc], list[dict]]:
    """The real web pages (WARC documents) and text rows of ``../shared/data``."""
    docs = aeb_pages(shared, _eval_news_heads())
    docs += trafilatura_pages(shared, web_pages, random.Random(seed), "prose")
    docs += readability_pages(shared)
    for f in sorted((shared / "raw_web" / "trafilatura_unannotated_pages").glob("*.html.gz")):
        docs.append(jc.Doc(f"https://{f.name.removesuffix('.html.gz')}.example/", "prose", "unannotated",
                           gzip.decompress(f.read_bytes())))
    rows = [{"id": r["id"], "url": r["id"], "text": r["text"], "kind": "ccnet", "variant": "cc_en_head"}
            for r in _jsonl(shared / "raw_web" / "ccnet_text" / "cc_en_head-0091.jsonl.gz")]
    cs = shared / "near_duplicates" / "clough_stevenson_plagiarism"
    with open(cs / "file_information.csv", newline="") as fh:
        info = {r["File"]: r["Category"] for r in csv.DictReader(fh)}
    for f in sorted(cs.glob("*.txt")):
        text = f.read_text(encoding="utf-8", errors="replace").strip()
        cat = info.get(f.name, "source" if f.name.startswith("orig") else "non")
        rows.append({"id": f.stem, "url": f"https://answers.example/{f.stem}", "text": text, "kind": "prose",
                     "variant": f"short_answer_{cat}",
                     "near_dup_of": f"https://answers.example/orig_task{f.stem[-1]}" if cat in ("cut", "light", "heavy") else None})
    return docs, rows


def _mirror(rng: random.Random, doc: jc.Doc, i: int) -> jc.Doc:
    """``doc`` on another host with one line added after ``<body>``: a scraped or syndicated copy."""
    host = re.sub(r"^https?://", "", doc.url).split("/", 1)[0]
    line = f"Originally published on {host}, {rng.choice(['January', 'March', 'June', 'October'])} {rng.randint(1, 28)}."
    if doc.ctype.startswith("text/html"):
        body, n = re.subn(rb"(<body[^>]*>)", rb"\1<p>" + line.encode() + b"</p>", doc.body, count=1, flags=re.I)
        body = body if n else b"<p>" + line.encode() + b"</p>" + doc.body
    else:
        body = line.encode() + b"\n" + doc.body
    site = f"{rng.choice(['news', 'daily', 'mirror', 'feed', 'reader'])}{rng.randint(10, 999)}.example"
    return jc.Doc(f"https://{site}/copy/{i}", doc.kind, doc.variant, body, doc.ctype)


def build(out: str | Path, shared: str | Path | None = None, junk_share: float = 0.6,
          near_dup_share: float = 0.1, web_pages: int = 120, code_pages: int = 60, math_pages: int = 150,
          seed: int = 0) -> dict:
    """Write the corpus under ``out`` (layout above); return its counts:
    ``{"docs", "junk", "junk_share", "near_duplicates", "kinds"}``."""
    if not 0 <= junk_share < 1 or not 0 <= near_dup_share < 1:
        raise ValueError("junk_share and near_dup_share are fractions in [0, 1)")
    out = Path(out)
    (out / "web").mkdir(parents=True, exist_ok=True)
    (out / "text").mkdir(parents=True, exist_ok=True)
    real_docs, udhr = jc.generate(code_pages, seed, kinds=("news", "prose", "code", "udhr"))
    real_docs += jc.generate(math_pages, seed, kinds=("math",))[0]
    rows = [{**r, "variant": r["lang_hint"]} for r in udhr]
    if shared is not None:
        more, more_rows = shared_pages(Path(shared), web_pages, seed)
        real_docs += more
        rows += more_rows
    seen: set[str] = set()
    real_docs = [d for d in real_docs if not (d.url in seen or seen.add(d.url))]
    n_real = len(real_docs) + len(rows)
    # junk pages J with J / (real + J) = junk_share, the near-duplicates spread over both alike
    per_kind = max(1, round(junk_share / (1 - junk_share) * n_real / len(jc.JUNK_KINDS)))
    junk_docs, _ = jc.generate(per_kind, seed, kinds=jc.JUNK_KINDS)
    rng = random.Random(seed * 7919 + 17)
    pages = real_docs + junk_docs
    picks = sorted(rng.sample(range(len(pages)), round(near_dup_share * (len(pages) + len(rows)))))
    mirrors = [_mirror(rng, pages[j], i) for i, j in enumerate(picks)]
    kinds = jc.write_web(out / "web", "crawl", pages + mirrors, seed)
    for k, j in zip(kinds[len(pages):], picks):
        k["near_dup_of"] = pages[j].url
    for k in kinds[:len(pages)]:
        k["near_dup_of"] = None
    by_kind = collections.defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    for kind, rs in sorted(by_kind.items()):
        jc.write_jsonl(out / "text" / f"{kind}.jsonl.gz", rs)
    kinds += [{"url": r["url"], "kind": r["kind"], "junk": False, "variant": r["variant"],
               "near_dup_of": r.get("near_dup_of")} for r in rows]
    (out / "kinds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kinds))
    junk = sum(r["junk"] for r in kinds)
    return {"out": str(out), "docs": len(kinds), "junk": junk, "junk_share": round(junk / len(kinds), 4),
            "near_duplicates": sum(r["near_dup_of"] is not None for r in kinds),
            "kinds": dict(sorted(collections.Counter(r["kind"] for r in kinds).items()))}
