"""Build the default evaluation suite of ``curate evaluate`` (curation/data/eval/*.jsonl.gz).

Run once by a maintainer (the output is committed):
    .venv/bin/python curation/data/eval/build_suite.py [--shared ../shared/data]

Deterministic (sorted inputs, first-N selections). Every set is kept out of the bundled sample
(``sample/``): the news pages after the 40 in the sample, HumanEval 100-163 and GSM8K test problems
300 on (chosen when the sample held HumanEval 0-99 and GSM8K test 0-299; it now holds neither: its
math is GSM8K train problems and its code networkx functions, ``sample/build_math_code.py``), UDHR
versions of languages the sample does not carry, and WikiText-2 test articles (not in the sample).
The default pipeline's ``decontaminate`` stage removes any document sharing a 13-gram with the
whole GSM8K test split or HumanEval, so the code and math sets stay out of curated data too. ``curate evaluate`` checks the
13-gram overlap of every arm with every set at run time; SOURCES.md gives the measured overlap with
the sample. Each set is cut at about ``--max-chars`` characters.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
# major languages, none of them among the 60 UDHR versions of sample/text/udhr_60.jsonl.gz
UDHR_CODES = ["deu_1996", "fra", "spa", "ita", "por_PT", "pol", "nld", "rus", "tur", "vie", "cmn_hans", "arb", "hin", "kor"]


def _build_data():
    spec = importlib.util.spec_from_file_location("build_data", ROOT / "classifiers" / "build_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _take(rows: list[dict], max_chars: int) -> list[dict]:
    out, n = [], 0
    for r in rows:
        if n >= max_chars:
            break
        out.append(r)
        n += len(r["text"])
    return out


def _write(name: str, rows: list[dict]) -> None:
    with gzip.GzipFile(HERE / f"{name}.jsonl.gz", "wb", mtime=0) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{name}: {len(rows)} texts, {sum(len(r['text'].encode()) for r in rows):,} bytes")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--max-chars", type=int, default=24_000)
    a = ap.parse_args(argv)
    shared, cap = Path(a.shared), a.max_chars
    bd = _build_data()

    # prose: WikiText-2 raw test articles (sections of an article together, first 10,000 characters)
    rows = [{"id": f"wikitext:{t}", "text": "\n\n".join(s)[:8_000]} for t, s in bd.wikitext_articles(shared) if s]
    _write("prose", _take(rows, cap))

    # news: Article Extraction Benchmark ground-truth bodies not in sample/ (it has the first 40 ids)
    gt = json.loads((shared / "html_extraction/scrapinghub_aeb/ground-truth.json").read_text())
    in_sample = set(json.loads((ROOT / "sample/html/scrapinghub/ground-truth.json").read_text()))
    rows = [{"id": f"aeb:{k}", "text": gt[k]["articleBody"].strip()} for k in sorted(gt) if k not in in_sample]
    _write("news", _take([r for r in rows if len(r["text"]) >= 500], cap))

    # code: HumanEval 100-163 (prompt + canonical solution); sample/ once had 0-99
    he = [json.loads(x) for x in gzip.open(shared / "domain_samples/code/HumanEval.jsonl.gz", "rt")]
    rows = [{"id": r["task_id"], "text": r["prompt"] + r["canonical_solution"]} for r in he[100:]]
    _write("code", _take(rows, cap))

    # math: GSM8K test problems 300 on (question + worked answer); sample/ once had the first 300
    gs = [json.loads(x) for x in gzip.open(shared / "domain_samples/math/gsm8k_test.jsonl.gz", "rt")]
    rows = [{"id": f"gsm8k-test:{i}", "text": r["question"].strip() + "\n" + r["answer"].strip()}
            for i, r in enumerate(gs) if i >= 300]
    _write("math", _take(rows, cap))

    # multilingual: UDHR in 14 major languages absent from sample/ (first 1,700 characters each)
    udhr = bd.udhr_versions(shared)
    per = cap // len(UDHR_CODES)
    rows = [{"id": f"udhr:{c}", "lang": udhr[c][0], "text": udhr[c][1][:per]} for c in UDHR_CODES]
    _write("multilingual", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
