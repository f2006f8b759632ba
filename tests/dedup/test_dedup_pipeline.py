"""The three dedup stages in a pipeline on a real local Ray: real pages, planted duplicates."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.config import parse_pipeline
from curation.dedup.synth import perturb
from curation.engine.runner import RunOptions, run_pipeline
from curation.status import run_status

PIPELINE = {
    "name": "dedup-test",
    "input": {"shard_max_bytes": 60_000, "batch_docs": 16},
    "stages": [{"op": "extract", "engine": "resiliparse"}, {"op": "url_dedup"}, {"op": "minhash_dedup"},
               {"op": "line_dedup", "group_docs": 1000}],
}


@pytest.fixture(scope="module")
def inputs(sample_dir, tmp_path_factory) -> tuple[list[str], dict]:
    """Real texts (CCNet, UDHR) with planted duplicates, plus the ClueWeb Japanese shop pages."""
    rng = random.Random(7)
    ccnet = [json.loads(l) for l in gzip.open(sample_dir / "text" / "ccnet_cc_en_head-0091.jsonl.gz")]
    udhr = [json.loads(l) for l in gzip.open(sample_dir / "text" / "udhr_60.jsonl.gz")]
    rows, plan = [], {"near": [], "two_urls": None, "refetch": None}
    for i, d in enumerate(ccnet):
        rows.append({"id": f"c{i:015x}", "url": f"http://news.example/{i}", "text": d["text"],
                     "fetch_time": "2024-01-01T00:00:00Z"})
        if len(d["text"].split()) > 1000:  # near-duplicates: boilerplate + 1% words changed (Jaccard ~0.9)
            copies = [f"d{i:03x}{k:012x}" for k in range(2)]
            for k, cid in enumerate(copies):
                rows.append({"id": cid, "url": f"http://mirror{k}.example/{i}",
                             "text": perturb(d["text"], rng, change=0.01, boilerplate=1),
                             "fetch_time": "2024-02-01T00:00:00Z"})
            plan["near"].append([f"http://news.example/{i}"] + [f"http://mirror{k}.example/{i}" for k in range(2)])
    for i, d in enumerate(udhr):
        rows.append({"id": f"e{i:015x}", "url": f"https://udhr.example/{d['id']}", "text": d["text"],
                     "fetch_time": "2024-01-01T00:00:00Z"})
    # the same page under two URLs; the same URL fetched twice (the newer fetch differs)
    rows.append({"id": "f000000000000001", "url": "http://other.example/copy", "text": udhr[3]["text"],
                 "fetch_time": "2024-01-01T00:00:00Z"})
    plan["two_urls"] = (f"https://udhr.example/{udhr[3]['id']}", "http://other.example/copy")
    rows.append({"id": "f000000000000002", "url": f"http://www.udhr.example/{udhr[5]['id']}?utm_source=feed",
                 "text": udhr[5]["text"] + "\nUpdated.", "fetch_time": "2024-03-01T00:00:00Z"})
    plan["refetch"] = (f"https://udhr.example/{udhr[5]['id']}",
                       f"http://www.udhr.example/{udhr[5]['id']}?utm_source=feed")
    rng.shuffle(rows)
    folder = tmp_path_factory.mktemp("dedup_in")
    with open(folder / "docs.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    shutil.copy(sample_dir / "warc" / "clueweb_ja_shop_pages.warc.gz", folder)
    return [str(folder)], plan


def _run(inputs, out: Path, workers: int):
    return run_pipeline(parse_pipeline(PIPELINE), inputs, str(out), RunOptions(workers=workers, progress=False))


@pytest.fixture(scope="module")
def run2(ray_local, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("dedup_run") / "run"
    _run(inputs[0], out, 2)
    return out


def _rejected(root: Path, stage: str) -> dict:
    files = sorted((root / "rejected" / stage).glob("*.parquet"))
    rows = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive") if files else None
    return {r["id"]: r for r in rows.to_pylist()} if rows is not None else {}


def test_accounting_and_status(run2):
    st = run_status(run2)
    stages = st["stages"]
    for name in ("url_dedup", "minhash_dedup", "line_dedup"):
        s = stages[name]
        assert s["in"] == s["kept"] + s["rejected"] and s["in"] > 0
    assert stages["minhash_dedup"]["in"] == stages["url_dedup"]["kept"]
    assert stages["line_dedup"]["in"] == stages["minhash_dedup"]["kept"]
    assert "near_duplicate" in stages["minhash_dedup"]["reasons"]
    assert "duplicate_url" in stages["url_dedup"]["reasons"]


def _ids(root: Path) -> dict:
    """URL -> document id (ids are derived by the reader from the record)."""
    t = pq.read_table(root / "01-extract")
    return dict(zip(t.column("url").to_pylist(), t.column("id").to_pylist()))


def test_same_url_two_dates_keeps_newest(run2, inputs):
    ids = _ids(run2)
    old, new = (ids[u] for u in inputs[1]["refetch"])
    rej = _rejected(run2, "url_dedup")
    assert rej[old]["reason"] == "duplicate_url" and rej[old]["detail"] == f"survivor {new}"
    assert new not in rej


def test_same_page_two_urls_and_near_duplicates_clustered(run2, inputs):
    plan = inputs[1]
    ids = _ids(run2)
    rej = _rejected(run2, "minhash_dedup")
    a, b = (ids[u] for u in plan["two_urls"])
    keep, lose = min(a, b), max(a, b)  # no quality score: the smallest id survives
    assert rej[lose]["reason"] == "near_duplicate" and rej[lose]["dup_survivor"] == keep and keep not in rej
    assert plan["near"]
    for urls in plan["near"]:
        cluster = [ids[u] for u in urls]
        survivor = min(cluster)  # no quality score here: the smallest id survives
        assert survivor not in rej
        for other in cluster:
            if other != survivor:
                assert rej[other]["dup_survivor"] == survivor == rej[other]["dup_cluster"]
    planted = {ids[u] for c in plan["near"] for u in c} | {lose}
    # the Japanese shop pages are template near-duplicates too; nothing else is removed
    extra = [r["url"] for i, r in rej.items() if i not in planted]
    assert all("uraharajuku" in u for u in extra)


def test_line_dedup_removes_shop_template_lines(run2):
    con = duckdb.connect()
    removed = con.execute(
        f"SELECT sum(lines_removed), count(*) FILTER (WHERE lines_removed > 0) "
        f"FROM read_parquet('{run2}/04-line_dedup/*.parquet') WHERE url LIKE '%uraharajuku%'").fetchone()
    rej = _rejected(run2, "line_dedup")
    assert (removed[0] or 0) + sum(1 for r in rej.values() if "uraharajuku" in (r["url"] or "")) > 0
    for r in rej.values():
        assert r["reason"] in ("empty_after_line_dedup", "too_short_after_line_dedup")


def test_same_output_with_one_worker(run2, inputs, tmp_path):
    out = tmp_path / "run1"
    _run(inputs[0], out, 1)
    for sub in ("04-line_dedup", "rejected/minhash_dedup", "rejected/line_dedup", "rejected/url_dedup"):
        a = sorted((run2 / sub).glob("*.parquet"))
        b = sorted((out / sub).glob("*.parquet"))
        assert [p.name for p in a] == [p.name for p in b]
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b], sub


def test_crash_in_apply_resumes_after_the_rounds(run2, inputs, tmp_path):
    """A crash after the connected-components rounds: the re-run reuses the committed collect,
    round and decision files and ends with the same output as an uninterrupted run."""
    from curation.engine.runner import RunError

    out = tmp_path / "crashed"
    with pytest.raises(RunError, match="minhash_dedup"):
        run_pipeline(parse_pipeline(PIPELINE), inputs[0], str(out),
                     RunOptions(workers=2, progress=False, fault="crash:minhash_dedup:1"))
    assert list((out / "_work" / "minhash_dedup").glob("round-*/part-*.spill"))
    _run(inputs[0], out, 2)
    for sub in ("04-line_dedup", "rejected/minhash_dedup", "rejected/line_dedup"):
        a = sorted((run2 / sub).glob("*.parquet"))
        b = sorted((out / sub).glob("*.parquet"))
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b], sub
