"""decontaminate: what it catches, what it leaves alone, and its speed beside two other map stages.

    .venv/bin/python bench/decontaminate.py [--repeats 3] [--batch 200] [--py-files 3000]

All on real text, in one process:

1. **Caught**: the sample's former math and code files (GSM8K test problems 0-299 and HumanEval
   0-99, rebuilt from ``../shared/data`` as they were), the whole GSM8K test split and HumanEval,
   and news pages with one eval item pasted in (question + answer; the answer alone without its
   calculator annotations; HumanEval prompt + solution; the solution alone).
2. **Left alone** (false positives at ``min_matches`` 1, 2 and 5): the sample's new math and code
   (``gsm8k_train_300``, ``code_100``), the whole GSM8K train split (7,473), ``--py-files`` Python
   source files of the installed packages (none of them HumanEval), and real page text (the shared
   HTML sets through resiliparse, WikiText-2, CCNet, UDHR; as ``bench/filters.py`` loads them).
3. **Speed**: documents/s on one core (process CPU time, best of ``--repeats`` interleaved rounds)
   of ``decontaminate`` beside ``pii`` and ``heuristics`` (their operator defaults) on the same
   Arrow batches of page text, and the one-off ``setup()`` (building the eval n-gram index).

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in gzip.open(path, "rt", encoding="utf-8")]


def table(texts: list[str]) -> pa.Table:
    return pa.table({"id": [f"{i:08x}" for i in range(len(texts))], "url": pa.nulls(len(texts), pa.string()),
                     "text": pa.array(texts, pa.large_string())})


def page_texts() -> list[str]:
    spec = importlib.util.spec_from_file_location("bench_filters", ROOT / "bench" / "filters.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    texts, distinct = mod.load_docs(20_000)
    return texts[:distinct]


def py_files(limit: int) -> list[str]:
    """Every k-th Python file (sorted paths) of the installed packages, tests included, 1-200 KB."""
    import numpy

    site = Path(numpy.__file__).resolve().parents[1]
    files = sorted(p for p in site.rglob("*.py") if 1_000 <= p.stat().st_size <= 200_000)
    step = max(1, len(files) // limit)
    return [p.read_text(encoding="utf-8", errors="replace") for p in files[::step][:limit]]


def flagged(op, texts: list[str], batch: int = 500) -> tuple[int, dict[int, int]]:
    """(documents, {min_matches: documents with at least that many distinct eval n-grams})."""
    counts = []
    for i in range(0, len(texts), batch):
        counts += list(op.matches(pa.array(texts[i:i + batch], pa.large_string()))[0])
    return len(texts), {k: int(sum(c >= k for c in counts)) for k in (1, 2, 5)}


def caught(op, texts: list[str]) -> int:
    return int((op.matches(pa.array(texts, pa.large_string()))[0] >= 1).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--py-files", type=int, default=3000)
    a = ap.parse_args()

    from curation.operators.decontaminate import Decontaminate
    from curation.operators.heuristics import Heuristics
    from curation.operators.pii import Pii

    t0 = time.process_time()
    op = Decontaminate()
    op.setup()
    setup_s = time.process_time() - t0
    print(f"setup: {setup_s:.2f} s CPU, {len(op.grams):,} distinct eval 13-grams")
    head: dict = {"setup_cpu_s": round(setup_s, 2), "eval_ngrams": int(len(op.grams))}

    # 1. caught
    gs = jsonl(SHARED / "domain_samples/math/gsm8k_test.jsonl.gz")
    he = jsonl(SHARED / "domain_samples/code/HumanEval.jsonl.gz")
    pages = page_texts()
    news = [t for t in pages if len(t.split()) >= 300][:200]
    calc = re.compile(r"<<[^<>]*>>")

    def paste(i: int, s: str) -> str:
        paras = news[i % len(news)].split("\n")
        return "\n".join(paras[: len(paras) // 2] + [s] + paras[len(paras) // 2:])

    sets = {
        "old_sample_gsm8k_test_300": [r["question"].strip() + "\n" + r["answer"].strip() for r in gs[:300]],
        "old_sample_humaneval_100": [r["prompt"] + r["canonical_solution"] for r in he[:100]],
        "gsm8k_test_all": [r["question"] + "\n" + r["answer"] for r in gs],
        "humaneval_all": [r["prompt"] + r["canonical_solution"] for r in he],
        "page_plus_gsm8k_problem": [paste(i, r["question"] + "\n" + r["answer"]) for i, r in enumerate(gs)],
        "page_plus_gsm8k_answer_no_annotations": [paste(i, calc.sub("", r["answer"])) for i, r in enumerate(gs)],
        "page_plus_humaneval_problem": [paste(i, r["prompt"] + r["canonical_solution"]) for i, r in enumerate(he)],
        "page_plus_humaneval_solution_only": [paste(i, r["canonical_solution"]) for i, r in enumerate(he)],
    }
    head["caught"] = {}
    for name, texts in sets.items():
        c = caught(op, texts)
        head["caught"][name] = [c, len(texts)]
        print(f"caught  {name:40s} {c:5d} / {len(texts):5d}  ({c / len(texts):.1%})")

    # 2. left alone
    clean = {
        "sample_gsm8k_train_300": [r["text"] for r in jsonl(ROOT / "sample/text/gsm8k_train_300.jsonl.gz")],
        "sample_code_100": [r["text"] for r in jsonl(ROOT / "sample/text/code_100.jsonl.gz")],
        "gsm8k_train_all": [r["question"] + "\n" + r["answer"] for r in jsonl(SHARED / "domain_samples/math/gsm8k_train.jsonl.gz")],
        "python_files": py_files(a.py_files),
        "page_text": pages,
    }
    head["flagged"] = {}
    for name, texts in clean.items():
        n, by = flagged(op, texts)
        head["flagged"][name] = {"docs": n, **{f"min_matches_{k}": v for k, v in by.items()}}
        print(f"flagged {name:40s} {n:6d} docs: " + ", ".join(f">={k}: {v}" for k, v in by.items()))

    # 3. speed, one core, same batches
    batches = [table(pages[i:i + a.batch]) for i in range(0, len(pages), a.batch)]
    ops = {"decontaminate": op, "pii": Pii(), "heuristics": Heuristics()}
    for o in ops.values():
        o.setup()
        o.process(batches[0])  # warm caches
    best = {k: float("inf") for k in ops}
    for _ in range(a.repeats):
        for k, o in ops.items():
            t0 = time.process_time()
            for b in batches:
                o.process(b)
            best[k] = min(best[k], time.process_time() - t0)
    mb = sum(len(t.encode()) for t in pages) / 1e6
    rate = {k: len(pages) / v for k, v in best.items()}
    for k in ops:
        print(f"speed   {k:14s} {rate[k]:9.0f} docs/s/core  {mb / best[k]:6.1f} MB/s  "
              f"(x{rate[k] / rate['decontaminate']:.2f} of decontaminate)")
    head["docs"] = len(pages)
    head["mb"] = round(mb, 2)
    head["docs_per_s_core"] = {k: round(v) for k, v in rate.items()}
    head["decontaminate_vs_pii"] = round(rate["decontaminate"] / rate["pii"], 2)
    head["decontaminate_vs_heuristics"] = round(rate["decontaminate"] / rate["heuristics"], 2)
    print(json.dumps(head))


if __name__ == "__main__":
    main()
