"""Build the sample's math and code documents (sample/text/gsm8k_train_300.jsonl.gz, code_100.jsonl.gz).

Run once by a maintainer (the output is committed):
    .venv/bin/python sample/build_math_code.py [--shared ../shared/data]

Deterministic (fixed inputs, sorted files, first-N selections). Neither file is a benchmark test
set, so the ``decontaminate`` stage keeps both and the mix still has math and code:

* math: the LAST 300 problems of GSM8K's train split (7,473 problems), question + worked answer as
  one text, the record format of the former ``gsm8k_test_300`` file. The last ones, not the first:
  the bundled domain classifier trains on the first 600 train problems (``curation/data/classifiers/build_data.py``)
  and the sample is kept out of classifier training.
* code: 100 top-level functions of networkx 3.6.1 (BSD-3-Clause; installed with the project's
  dependencies: torch requires it), one function a document, exactly as in its source file with
  its decorators. Files ``networkx/**/*.py`` outside ``tests/`` (and not ``conftest.py``) in sorted
  path order; from each file its first top-level function of 10-80 lines whose docstring is at
  most half of its lines (so the text is mostly code); the first 100 such files. Not HumanEval,
  not the Python standard library (both train the domain classifier).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NETWORKX_VERSION = "3.6.1"
N_MATH, N_CODE = 300, 100
MIN_LINES, MAX_LINES = 10, 80


def write_jsonl_gz(path: Path, rows: list[dict]) -> None:
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{path.name}: {len(rows)} documents, {sum(len(r['text'].encode()) for r in rows):,} bytes")


def math_rows(shared: Path) -> list[dict]:
    rows = [json.loads(x) for x in gzip.open(shared / "domain_samples/math/gsm8k_train.jsonl.gz", "rt", encoding="utf-8")]
    start = len(rows) - N_MATH
    return [{"id": f"gsm8k-train-{i}", "url": None, "text": r["question"].strip() + "\n" + r["answer"].strip()}
            for i, r in enumerate(rows) if i >= start]


def first_function(path: Path) -> tuple[str, str] | None:
    """(name, source) of the first top-level function of ``path`` that fits, or None."""
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    for node in ast.parse(src).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        n = node.end_lineno - start + 1
        if not MIN_LINES <= n <= MAX_LINES:
            continue
        doc = node.body[0] if node.body else None
        doc_lines = 0
        if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
            doc_lines = doc.end_lineno - doc.lineno + 1
        if doc_lines * 2 > n:
            continue
        return node.name, "\n".join(lines[start - 1: node.end_lineno]) + "\n"
    return None


def code_rows() -> list[dict]:
    import networkx

    if networkx.__version__ != NETWORKX_VERSION:
        raise SystemExit(f"networkx {networkx.__version__} installed; this selection is defined on {NETWORKX_VERSION}")
    pkg = Path(networkx.__file__).resolve().parent
    files = sorted(p for p in pkg.rglob("*.py") 
                   if "tests" not in p.relative_to(pkg).parts and p.name != "conftest.py")
    rows = []
    for p in files:
        hit = first_function(p)
        if hit is None:
            continue
        name, text = hit
        rel = p.relative_to(pkg.parent).as_posix()
        rows.append({"id": f"networkx-{NETWORKX_VERSION}/{rel}:{name}", "url": None, "text": text})
        if len(rows) == N_CODE:
            break
    if len(rows) < N_CODE:
        raise SystemExit(f"only {len(rows)} functions fit")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    a = ap.parse_args(argv)
    write_jsonl_gz(HERE / "text" / "gsm8k_train_300.jsonl.gz", math_rows(Path(a.shared)))
    write_jsonl_gz(HERE / "text" / "code_100.jsonl.gz", code_rows())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
