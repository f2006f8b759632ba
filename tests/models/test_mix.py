"""domain -> quality -> quality_select -> mix on the bundled sample: the trainer's contract, the target
mix, determinism (the runs: ``mix_runs`` in conftest.py, shared with test_quality_select.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.operators.base import ready
from curation.operators.context import ShardContext

TARGET = {"general": 0.50, "math": 0.25, "code": 0.17, "multilingual": 0.08}


@pytest.fixture(scope="module")
def runs(mix_runs):
    return mix_runs


def test_manifest_contract(runs):
    run = runs[2]
    m = json.loads((run / "manifest.json").read_text())
    assert m["format"] == "curation.mix/1" and m["text_column"] == "text"
    assert not Path(m["tokenizer"]).is_absolute() and (run / m["tokenizer"]).is_file()  # copied: relocatable
    assert m["source_run"] == "."
    assert set(m["target_mix"]) == set(TARGET)
    for part in ("mix", "anneal"):
        assert m[part]["files"], part
        docs = tokens = 0
        per_domain: dict[str, int] = {}
        distinct: dict[str, set] = {}
        for rel in m[part]["files"]:
            assert not Path(rel).is_absolute() and rel.startswith(part + "/")
            t = pq.read_table(run / rel)
            for col, typ in (("id", pa.string()), ("text", None), ("domain", pa.string()),
                             ("quality", pa.float32()), ("tokens", pa.int64())):
                assert col in t.column_names, (rel, col)
                if typ is not None:
                    assert t.schema.field(col).type == typ
            assert set(t.column("domain").to_pylist()) <= set(TARGET)
            docs += t.num_rows
            tokens += pc_sum(t.column("tokens"))
            for d, n, i in zip(t.column("domain").to_pylist(), t.column("tokens").to_pylist(), t.column("id").to_pylist()):
                per_domain[d] = per_domain.get(d, 0) + n
                distinct.setdefault(d, set()).add(i)
        assert docs == sum(m[part]["occurrences"].values())  # rows: a document once per copy
        assert {d: len(v) for d, v in distinct.items()} == m[part]["documents"]  # distinct documents
        assert m[part]["distinct_documents"] == sum(m[part]["documents"].values())
        assert per_domain == m[part]["tokens"]


def pc_sum(col) -> int:
    return int(np.asarray(col.to_numpy(zero_copy_only=False)).sum())


def test_achieved_mix_within_two_points(runs):
    m = json.loads((runs[2] / "manifest.json").read_text())
    print("achieved:", m["achieved_mix"], "epochs:", m.get("epochs"), "notes:", m.get("notes"))
    for d, share in TARGET.items():
        assert abs(m["achieved_mix"][d] - share) <= 0.02, (d, m["achieved_mix"])
    # scarce domains are repeated, never beyond max_epochs; each doc's copies are within the cap
    assert all(e <= m["config"]["max_epochs"] + 1e-9 for e in m["epochs"].values())
    assert any("up-sampled by repetition" in n for n in m["notes"])
    for rel in m["mix"]["files"]:
        t = pq.read_table(runs[2] / rel, columns=["id", "epoch"])
        counts: dict[str, int] = {}
        for i in t.column("id").to_pylist():
            counts[i] = counts.get(i, 0) + 1
        assert max(counts.values()) <= m["config"]["max_epochs"]


def test_annealing_set_is_the_top_quality_of_each_domain(runs):
    run = runs[2]
    m = json.loads((run / "manifest.json").read_text())
    ann = pa.concat_tables([pq.read_table(run / f) for f in m["anneal"]["files"]])
    kept = pa.concat_tables([pq.read_table(f) for f in sorted(next(run.glob("*-mix")).glob("part-*.parquet"))])
    for d in TARGET:
        a = [q for q, dd in zip(ann.column("quality").to_pylist(), ann.column("domain").to_pylist()) if dd == d]
        rest = [q for q, dd, an in zip(kept.column("quality").to_pylist(), kept.column("domain").to_pylist(),
                                       kept.column("anneal").to_pylist()) if dd == d and not an]
        assert a, d
        if rest:
            assert min(a) >= max(rest) - 1.0 / 4096, d  # by quality, to the histogram's resolution
    # every document is accounted for: kept (mix or anneal) + not_sampled = documents into mix
    rej = pq.read_table(run / "rejected" / "mix") if (run / "rejected" / "mix").exists() else None
    n_rej = rej.num_rows if rej is not None else 0
    domain_out = sum(pq.read_metadata(f).num_rows for f in next(run.glob("*-quality_select")).glob("part-*.parquet"))
    assert kept.num_rows + n_rej == domain_out
    if rej is not None:
        assert set(rej.column("reason").to_pylist()) == {"not_sampled"}


def test_one_and_two_workers_identical(runs):
    a, b = runs[1], runs[2]
    ma = json.loads((a / "manifest.json").read_text())
    mb = json.loads((b / "manifest.json").read_text())
    for m in (ma, mb):
        m.pop("source_run")
    assert ma == mb
    for rel in ma["mix"]["files"] + ma["anneal"]["files"]:
        assert pq.read_table(a / rel).equals(pq.read_table(b / rel)), rel


def test_plan_without_a_domain_renormalises_and_says_so(models, sample_dir):
    """Direct collect/combine/apply (no Ray) on real text with no code in it."""
    from curation.operators.domain import Domain
    from curation.operators.mix import Mix

    root, _ = models
    rows = []
    for name in ("gsm8k_train_300.jsonl.gz", "udhr_60.jsonl.gz", "ccnet_cc_en_head-0091.jsonl.gz"):
        rows += [{"id": f"{name}:{i}", "text": json.loads(l)["text"]}
                 for i, l in enumerate(gzip.open(sample_dir / "text" / name, "rt"))]
    domain = Domain({"models": str(root), "auto_train": False})
    domain.setup()  # the engine's job in a run
    table = domain.process(pa.Table.from_pylist(rows)).kept
    mix = ready(Mix({"models": str(root), "target": {"general": 0.5, "math": 0.3, "code": 0.2}}))
    halves = [table.slice(0, 200), table.slice(200)]
    collected = pa.concat_tables([mix.collect(t, ShardContext(index=i)) for i, t in enumerate(halves)])
    decisions = mix.combine(collected)
    plan = mix.plan(decisions)
    assert plan["target"]["code"] == 0 and abs(plan["target"]["general"] - 0.5 / 0.8) < 1e-9
    assert any("code" in n and "no tokens" in n for n in plan["notes"])
    out = [mix.apply(t, decisions, ShardContext(index=i)) for i, t in enumerate(halves)]
    assert sum(o.kept.num_rows + o.rejected.num_rows for o in out) == table.num_rows
    kept = pa.concat_tables([o.kept for o in out])
    tok: dict[str, int] = {}
    for d, n, c in zip(kept.column("domain").to_pylist(), kept.column("tokens").to_pylist(),
                       kept.column("mix_copies").to_pylist()):
        tok[d] = tok.get(d, 0) + n * c
    total = sum(tok.values())
    assert abs(tok["general"] / total - 0.625) <= 0.02 and abs(tok["math"] / total - 0.375) <= 0.02


def test_query_views_every_stage_and_distinct_mix(runs):
    """`curate query`'s views on a run whose extract, domain and quality stages ran fused in one group:
    a view per stage with the documents it kept, and a mix of distinct documents with `copies`."""
    from curation.query import query
    from curation.status import run_status

    run = runs[2]
    st = run_status(run)["stages"]
    n = lambda sql: query(run, sql)[1][0][0]  # noqa: E731
    for stage in ("extract", "domain", "quality", "quality_select"):  # mix: below (mix + anneal)
        assert n(f"SELECT count(*) FROM {stage}") == st[stage]["kept"], stage
    assert n("SELECT count(*) FROM kept") == n("SELECT count(*) FROM final") == st["mix"]["kept"]
    m = json.loads((run / "manifest.json").read_text())
    # one row per distinct document; the repeats are in mix_occurrences
    assert n("SELECT count(*) FROM mix") == n("SELECT count(DISTINCT id) FROM mix") == m["mix"]["distinct_documents"]
    assert n("SELECT count(*) FROM mix_occurrences") == sum(m["mix"]["occurrences"].values())
    assert n("SELECT sum(copies) FROM mix") == n("SELECT count(*) FROM mix_occurrences")
    assert n("SELECT min(copies) FROM mix") >= 1 and n("SELECT max(copies) FROM mix") > 1  # scarce domains repeat
    assert dict(query(run, "SELECT domain, count(*) FROM mix GROUP BY 1")[1]) == m["mix"]["documents"]
    # mix plus anneal hold exactly the documents the mix stage kept (curate status)
    assert n("SELECT count(*) FROM (SELECT id FROM mix UNION SELECT id FROM anneal)") == st["mix"]["kept"]
    assert n("SELECT count(*) FROM (SELECT id FROM mix UNION SELECT id FROM anneal EXCEPT "
             "SELECT id FROM kept)") == 0


def test_status_tells_sampled_out_from_rejected(runs, capsys):
    from curation.cli import main
    from curation.status import run_status

    mix = run_status(runs[2])["stages"]["mix"]
    assert mix["sampled_out"] == mix["reasons"]["not_sampled"] > 0
    assert main(["status", str(runs[2])]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("mix "))
    cols = row.split()
    # in, kept, rejected by a filter (here: none but undetermined language), sampled out
    assert int(cols[2]) == mix["in"] and int(cols[3]) == mix["kept"]
    assert int(cols[4]) == mix["rejected"] - mix["sampled_out"] and int(cols[5]) == mix["sampled_out"]
    assert "not_sampled" not in row


def test_report_counts_sampled_out_apart(runs):
    from curation.report import build_report

    build_report(runs[2])
    html = (runs[2] / "report.html").read_text()
    assert "sampled out by the mix" in html
    assert "mix/not_sampled" not in html  # not among the rejections by stage and reason
