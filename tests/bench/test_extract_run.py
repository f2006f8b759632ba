"""bench/extract_run.py's helpers: its pipeline is the default extract stage, its input copies read
back as distinct documents keyed by page, a real ``curate run`` output is read back by page and
scored as bench/extract.py scores, the cost model's fit, and the process names of the CPU sampler
(bench/vs_datatrove.py's, which the bench reuses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.extract_run import (PIPELINE, Page, copy_url, curate_command, fit_cost, read_output,  # noqa: E402
                               score, write_input)
from curation.config import load_pipeline  # noqa: E402

PARAGRAPH = ("The river authority said on Tuesday that the new flood barrier, built over three years at a cost "
             "of forty million pounds, had held back the highest tide recorded in the town since 1953. ")


def article(title: str, body: str) -> str:
    return (f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
            f"<article><h1>{title}</h1><p>{body}</p><p>{PARAGRAPH}</p><p>{PARAGRAPH[::-1]}</p></article>"
            "<footer>Copyright 2026 The Example Gazette</footer></body></html>")


def pages() -> list[Page]:
    return [Page("aeb-0", "aeb", "https://example.org/a", article("Barrier holds", "Residents watched the water rise."),
                 "Barrier holds Residents watched the water rise. " + PARAGRAPH),
            Page("aeb-1", "aeb", "https://example.org/b?x=1", "<html><body><script>var a = 1;</script></body></html>",
                 "a page whose extraction is empty"),
            Page("tev-0", "tev", "https://example.org/c", article("Tide record", "The gauge read 5.2 metres."),
                 {"with": ["The gauge read 5.2 metres."], "without": ["Copyright 2026 The Example Gazette"]})]


def test_the_bench_pipeline_is_the_default_pipelines_extract_stage():
    bench, default = load_pipeline(PIPELINE), load_pipeline(ROOT / "pipelines" / "llama3.yaml")
    assert [s.op for s in bench.stages] == ["extract"]
    assert bench.stages[0].params == default.stages[0].params  # the engine is set per run (--set)
    assert (bench.input.shard_max_bytes, bench.input.batch_docs) == (default.input.shard_max_bytes,
                                                                      default.input.batch_docs)
    assert load_pipeline(PIPELINE, ["extract.engine=curation"]).stages[0].params["engine"] == "curation"


def test_copies_read_back_as_distinct_documents_keyed_by_page(tmp_path):
    from curation.io.sources import ReaderOptions, plan_shards, read_shard

    n = write_input(pages(), 3, tmp_path / "in", files=2, row_group_bytes=200)
    assert n == 9
    options = ReaderOptions(metadata_columns=("page", "copy"))
    shards = plan_shards([str(tmp_path / "in")], 1 << 20, options)
    docs = [d for s in shards for b in read_shard(s, 100) for d in b.docs.to_pylist()]
    assert len(docs) == 9 and len({d["id"] for d in docs}) == 9 and len({d["url"] for d in docs}) == 9
    assert sorted((d["page"], d["copy"]) for d in docs) == sorted((p.key, c) for p in pages() for c in range(3))
    by_page = {p.key: p for p in pages()}
    assert all(d["html"] == by_page[d["page"]].html for d in docs)  # the same page under another id and url
    assert {d["url"] for d in docs if d["page"] == "aeb-1"} == {"https://example.org/b?x=1",
                                                               "https://example.org/b?x=1&copy=1",
                                                               "https://example.org/b?x=1&copy=2"}
    assert copy_url("https://example.org/a", 2) == "https://example.org/a?copy=2"
    # small row groups split a file into several shards at the pipeline's shard size
    assert len(plan_shards([str(tmp_path / "in")], 600, options)) > 2


def test_scores_are_bench_extracts():
    ps = [Page("aeb-0", "aeb", "u", "", "one two three four"), Page("aeb-1", "aeb", "u", "", "five six"),
          Page("tev-0", "tev", "u", "", {"with": ["x y", "z"], "without": ["junk"]})]
    s = score(ps, ["one two three four", None, "x  y and junk"])
    assert (s["aeb_p"], s["aeb_r"], s["aeb_f1"]) == (0.5, 0.5, 0.5)  # a page with no output scores 0
    assert (s["teval_p"], s["teval_r"], s["teval_f1"]) == (0.5, 0.5, 0.5)  # 1 TP, 1 FN, 1 FP


def test_a_curate_run_output_is_read_back_by_page(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "run"
    write_input(pages(), 2, inp)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    r = subprocess.run(curate_command(inp, out, "resiliparse", 1), env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "run.json").read_text())["config"]["stages"][0]["params"]["engine"] == "resiliparse"
    got = read_output(out)
    assert got.kept == 4 and got.rejected == {"extract:empty_extraction": 2}
    assert set(got.texts) == {("aeb-0", 0), ("aeb-0", 1), ("tev-0", 0), ("tev-0", 1)}
    assert got.texts["aeb-0", 0] == got.texts["aeb-0", 1]  # the copies: the same page, the same text
    assert "Residents watched the water rise." in got.texts["aeb-0", 0]
    texts = [got.texts.get((p.key, c)) for c in range(2) for p in pages()]
    s = score(pages() * 2, texts)
    assert s["aeb_f1"] < 0.5 < s["aeb_r"] + s["aeb_p"]  # aeb-1 (rejected) scores 0 in both copies
    assert s["teval_r"] == 1.0


def test_fit_cost_recovers_the_line_and_reports_its_residuals():
    exact = fit_cost([310, 1240, 2480], [7.0 + 0.02 * d for d in (310, 1240, 2480)])
    assert exact.fixed_s == pytest.approx(7.0) and exact.per_doc_s == pytest.approx(0.02)
    assert exact.docs_per_cpu_s == pytest.approx(50.0) and exact.rms_residual_s == pytest.approx(0.0, abs=1e-9)
    bent = fit_cost([100, 200, 300], [3.0, 5.0, 5.0])  # not a line: the residuals say so
    assert bent.per_doc_s == pytest.approx(0.01) and bent.fixed_s == pytest.approx(7.0 / 3)
    assert bent.residuals_s == pytest.approx((-1 / 3, 2 / 3, -1 / 3))
    assert bent.rms_residual_s == pytest.approx((2 / 9) ** 0.5)
    with pytest.raises(ValueError, match="two or more sizes"):
        fit_cost([310, 310], [7.0, 7.5])
    with pytest.raises(ValueError, match="do not grow"):
        fit_cost([310, 620], [7.0, 6.8])


def test_the_tree_sampler_names_each_process_it_counts(tmp_path):
    from bench.vs_datatrove import TreeSampler

    script = tmp_path / "spin_a_little.py"
    script.write_text("import sys\nsum(range(3_000_000))\nsys.stdin.readline()\n")  # work, then wait to be told
    sampler = TreeSampler()
    child = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE)
    try:
        sampler.sample()
        while not sampler.by_name().get("spin_a_little.py") and child.poll() is None:
            sampler.sample()
    finally:
        child.communicate(b"\n", timeout=60)
    assert child.returncode == 0
    by_name = sampler.by_name()  # every descendant of this process (a session's Ray too, if one runs)
    assert by_name["spin_a_little.py"] > 0  # a Python process is named by its script
    assert sum(by_name.values()) == pytest.approx(sampler.cpu_s())


def test_cpu_is_split_into_driver_workers_and_ray_services():
    from bench.extract_run import cost_by_group, process_group

    assert [process_group(n) for n in ("curate", "ray::ShardWorker", "ray::IDLE", "default_worker.py", "raylet",
                                       "gcs_server", "ray::DashboardAgent", "ray::RuntimeEnvAgent", "log_monitor.py")] \
        == ["driver", "workers", "workers", "workers", "ray services", "ray services", "ray services",
            "ray services", "ray services"]
    runs = {k: {"docs": 100 * k, "by_process": {"curate": 2.0, "ray::ShardWorker": 0.5 + 0.005 * 100 * k,
                                                "ray::IDLE": 0.5, "raylet": 1.0 + 0.001 * 100 * k}} for k in (1, 4)}
    got = cost_by_group([1, 4], runs)
    assert got.keys() == {"driver", "workers", "ray services"}
    assert got["driver"] == pytest.approx((2.0, 0.0)) and got["workers"] == pytest.approx((1.0, 0.005))
    assert got["ray services"] == pytest.approx((1.0, 0.001))
