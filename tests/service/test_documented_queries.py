"""Every SQL example of README.md and docs/ runs against a real small run of pipelines/llama3.yaml
(so documented queries keep working): the ``curate query RUN "SQL"`` lines, the statements of
```sql blocks, and inline `SELECT ...` spans. Placeholders ("SQL", "...") are not queries."""

from __future__ import annotations

import re

import pytest

from svc_helpers import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: documented on purpose as failing (docs/hardening.md's table of refusals)
EXPECTED_TO_FAIL = ("no_such_table",)


def documented_queries() -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        for m in re.finditer(r"curate query \S+ (\"([^\"]+)\"|'([^']+)')", text):
            out.append((name, m.group(2) or m.group(3)))
        for block in re.findall(r"```sql\n(.*?)```", text, re.S):
            body = "\n".join(line.split("--")[0] for line in block.splitlines())
            out += [(name, s.strip()) for s in body.split(";") if s.strip()]
        for m in re.finditer(r"`((?:SELECT|select) [^`]+)`", text):
            out.append((name, m.group(1)))
    keep = []
    for name, sql in out:
        if "..." in sql or "…" in sql or sql in ("SQL",) or any(x in sql for x in EXPECTED_TO_FAIL):
            continue
        if (name, sql) not in keep:
            keep.append((name, sql))
    return keep


QUERIES = documented_queries()


def test_the_docs_hold_queries():
    assert len(QUERIES) >= 12, QUERIES
    assert any(re.search(r"(?i)from extract\b", q) for _, q in QUERIES)  # a stage fused into a group


@pytest.fixture(scope="module")
def llama3_run(tmp_path_factory, ray_local):
    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline

    out = tmp_path_factory.mktemp("docq") / "run"
    run_pipeline(load_pipeline(ROOT / "pipelines" / "llama3.yaml"), [str(ROOT / "sample" / "warc")], str(out),
                 RunOptions(workers=2, progress=False))
    return out


@pytest.mark.parametrize("where,sql", QUERIES, ids=[f"{w}:{i}" for i, (w, _) in enumerate(QUERIES)])
def test_documented_query_runs(llama3_run, where, sql):
    from curation.query import query

    cols, rows = query(llama3_run, sql)
    assert cols, f"{where}: {sql}"
