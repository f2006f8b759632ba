"""Our heuristics stage vs datatrove's GopherQuality + GopherRepetition + C4 + FineWeb filters.

Both run in this one process, one core, on the same documents: real page text (the HTML pages of
``../shared/data/html_extraction`` run through resiliparse's main-content extraction), WikiText-2
articles, CCNet documents, UDHR translations and the Clough-Stevenson answers, repeated to
``--docs`` documents. datatrove is timed two ways: every filter on every document (the same work
our stage does: it measures every rule on every document) and chained as a datatrove pipeline
(a document dropped by one filter is not seen by the next, datatrove's best case). Our stage is
timed over Arrow batches of ``--batch`` documents, as the engine feeds it.

Run in the peers venv (datatrove is never installed into .venv)::

    python3 -m venv bench/.venv-peers
    bench/.venv-peers/bin/pip install datatrove==0.10.1 spacy resiliparse pyarrow pydantic regex pyyaml
    bench/.venv-peers/bin/pip install --no-deps -e .
    bench/.venv-peers/bin/python bench/filters.py [--docs 2000] [--batch 500]

Prints agreement between the two (keep/drop on the same documents) and the docs/s ratio; the last
line is one JSON object of headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from pathlib import Path

import pyarrow as pa

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_docs(limit: int) -> list[str]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    texts: list[str] = []
    html_dir = SHARED / "html_extraction"
    for f in sorted(html_dir.rglob("*.gz")):
        if "expected" in f.name:
            continue
        raw = gzip.open(f).read()
        tree = HTMLTree.parse(bytes_to_str(raw, detect_encoding(raw)))
        t = extract_plain_text(tree, main_content=True, alt_texts=False)
        if t and t.strip():
            texts.append(t)
    wiki = gzip.open(SHARED / "wikipedia_reference/wikitext-2-raw/wiki.test.raw.gz", "rt", encoding="utf-8").read()
    for art in re.split(r"\n(?= = [^=])", wiki.replace("\r", "")):
        if art.strip():
            texts.append(art)
    for line in gzip.open(SHARED / "raw_web/ccnet_text/cc_en_head-0091.jsonl.gz", "rt", encoding="utf-8"):
        texts.append(json.loads(line)["text"])
    for line in gzip.open(SHARED / "domain_samples/multilingual/udhr/udhr.jsonl.gz", "rt", encoding="utf-8"):
        texts.append(json.loads(line)["text"])
    for f in sorted((SHARED / "near_duplicates/clough_stevenson_plagiarism").glob("*.txt")):
        texts.append(f.read_bytes().decode("utf-8", "replace"))
    base = len(texts)
    out = [texts[i % base] for i in range(max(limit, 1))]
    return out, base


def run_ours(texts: list[str], batch: int):
    from curation.operators.heuristics import Heuristics

    op = Heuristics()
    op.setup()
    tables = [pa.table({"id": pa.array([str(i) for i in range(s, min(s + batch, len(texts)))]),
                        "text": pa.array(texts[s:s + batch], pa.large_string())})
              for s in range(0, len(texts), batch)]
    op.process(tables[0].slice(0, 10))  # warm-up (regex compilation)
    t0 = time.perf_counter()
    keep = []
    for t in tables:
        res = op.process(t)
        kept = set(res.kept.column("id").to_pylist())
        keep += [i in kept for i in t.column("id").to_pylist()]
    return time.perf_counter() - t0, keep


def run_datatrove(texts: list[str], chained: bool):
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    filters = [GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter(), FineWebQualityFilter()]
    for f in filters:  # warm-up: loads the spaCy tokenizer
        f.filter(Document(text="Warm up the tokenizer. " * 20, id="w"))
    t0 = time.perf_counter()
    keep = []
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        ok = True
        for f in filters:
            try:
                r = f.filter(doc)
            except Exception:
                r = False
            passed = r is True or (not isinstance(r, tuple) and bool(r))
            ok = ok and passed
            if not ok and chained:
                break
        keep.append(ok)
    return time.perf_counter() - t0, keep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    texts, distinct = load_docs(args.docs)
    chars = sum(map(len, texts))
    print(f"{len(texts)} documents ({distinct} distinct, {chars / 1e6:.1f} M characters)", flush=True)
    t_ours, k_ours = run_ours(texts, args.batch)
    print(f"ours (heuristics stage):            {t_ours:7.2f} s  {len(texts) / t_ours:9.0f} docs/s  "
          f"kept {sum(k_ours)}", flush=True)
    t_chain, k_chain = run_datatrove(texts, chained=True)
    print(f"datatrove 4 filters, chained:       {t_chain:7.2f} s  {len(texts) / t_chain:9.0f} docs/s  "
          f"kept {sum(k_chain)}", flush=True)
    t_all, _ = run_datatrove(texts, chained=False)
    print(f"datatrove 4 filters, every doc:     {t_all:7.2f} s  {len(texts) / t_all:9.0f} docs/s", flush=True)
    agree = sum(a == b for a, b in zip(k_ours, k_chain)) / len(texts)
    print(f"keep/drop agreement with datatrove: {agree:.3f}")
    print(f"speed-up vs datatrove chained: {t_chain / t_ours:.1f}x; vs every filter on every doc: "
          f"{t_all / t_ours:.1f}x (one core each)")
    print(json.dumps({
        "docs": len(texts), "distinct_docs": distinct,
        "ours_docs_per_s": round(len(texts) / t_ours, 1),
        "datatrove_chained_docs_per_s": round(len(texts) / t_chain, 1),
        "datatrove_all_docs_per_s": round(len(texts) / t_all, 1),
        "ratio_vs_chained": round(t_chain / t_ours, 2),
        "ratio_vs_all": round(t_all / t_ours, 2),
        "agreement": round(agree, 4),
    }))


if __name__ == "__main__":
    main()
