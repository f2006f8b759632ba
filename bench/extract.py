"""Extraction quality and speed: our operator (each engine) beside the bare library calls.

On the ScrapingHub article-extraction benchmark (../shared/data/html_extraction/scrapinghub_aeb,
or --data DIR): token-level precision / recall / F1 against the ground-truth article bodies, and
documents per CPU-second (one process, so per core). Timings are process CPU time, best of
--repeats interleaved rounds, so other load on the machine barely moves them.

Our operator adds, per page: the size bound, the time bound (a SIGALRM timer), math inlining and
markdown-marker removal. The target is at most 5% over the bare call, with the same F1.

    .venv/bin/python bench/extract.py [--data DIR] [--repeats 3]

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa  # noqa: E402

from curation import schema  # noqa: E402
from curation.evaluation.tokens import precision_recall_f1  # noqa: E402
from curation.operators.extract import Extract  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "html_extraction" / "scrapinghub_aeb"


def load(data: Path):
    gt = json.loads((data / "ground-truth.json").read_text())
    pages = []
    for key in sorted(gt):
        f = data / "html" / f"{key}.html.gz"
        if f.exists():
            pages.append((gzip.open(f).read().decode("utf-8", "replace"), gt[key]["url"], gt[key]["articleBody"]))
    return pages


def bare_trafilatura(html: str, url: str | None) -> str | None:
    import trafilatura

    return trafilatura.extract(html, url=url, output_format="txt", include_comments=False, include_tables=True,
                               include_images=False, include_links=False, deduplicate=False, with_metadata=False)


def bare_resiliparse(html: str, url: str | None) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(html), main_content=True, preserve_formatting=True,
                              list_bullets=False, alt_texts=False, links=False, form_fields=False, noscript=False)


def direct(fn):
    def run(pages, table):
        return [fn(html, url) for html, url, _ in pages]
    return run


def as_table(pages) -> pa.Table:
    """The batch the operator receives in a pipeline (built by the reader, outside the timing)."""
    return pa.Table.from_pylist(
        [{"id": str(i), "url": u, "fetch_time": None, "source": "bench", "html": h, "text": None}
         for i, (h, u, _) in enumerate(pages)], schema=schema.DOC_SCHEMA)


def operator(engine):
    op = Extract({"engine": engine})
    op.setup()

    def run(pages, table):
        res = op.process(table)
        by_id = dict(zip(res.kept.column("id").to_pylist(), res.kept.column("text").to_pylist()))
        return [by_id.get(str(i)) for i in range(len(pages))]
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pages = load(args.data)
    variants = {
        "trafilatura (direct)": direct(bare_trafilatura),
        "curation extract[trafilatura]": operator("trafilatura"),
        "resiliparse (direct)": direct(bare_resiliparse),
        "curation extract[resiliparse]": operator("resiliparse"),
    }
    table = as_table(pages)
    best = {k: float("inf") for k in variants}
    outputs = {}
    for _ in range(args.repeats):
        for name, run in variants.items():
            t0 = time.process_time()
            outputs[name] = run(pages, table)
            best[name] = min(best[name], time.process_time() - t0)
    rows = {}
    print(f"{len(pages)} pages from {args.data}")
    print(f"{'variant':<32}{'P':>7}{'R':>7}{'F1':>7}{'docs/s/core':>13}")
    for name in variants:
        prf = [precision_recall_f1(text, truth) for text, (_, _, truth) in zip(outputs[name], pages)]
        p, r, f = (sum(x[i] for x in prf) / len(prf) for i in range(3))
        rows[name] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                      "docs_per_s_per_core": round(len(pages) / best[name], 1)}
        print(f"{name:<32}{p:7.3f}{r:7.3f}{f:7.3f}{len(pages) / best[name]:13.1f}")
    overhead = {
        eng: round(best[f"curation extract[{eng}]"] / best[f"{eng} (direct)"] - 1, 4)
        for eng in ("trafilatura", "resiliparse")
    }
    for eng, o in overhead.items():
        print(f"overhead of our operator over bare {eng}: {o * 100:+.1f}%  "
              f"(F1 {rows[f'curation extract[{eng}]']['f1']:.3f} vs {rows[f'{eng} (direct)']['f1']:.3f})")
    print(json.dumps({"pages": len(pages), "variants": rows, "overhead": overhead}))


if __name__ == "__main__":
    main()
