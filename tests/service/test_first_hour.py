"""A new user's first commands on a fresh run: every stage is a view (fused ones too), expected
failures are one line, `curate status | head` is quiet, `curate validate` checks without running,
`--set` overrides and misspellings get a "did you mean"."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from svc_helpers import BIN, ROOT

#: extract and url_filter are map stages: they run fused in one group, 01-url_filter
FUSED = {"name": "first-hour", "input": {"shard_max_bytes": 262144, "batch_docs": 100},
         "stages": [{"op": "extract", "engine": "resiliparse", "min_chars": 400},
                    {"op": "url_filter", "blocklists": []}, {"op": "url_dedup"}]}


@pytest.fixture(scope="module")
def fused_run(ray_local, tmp_path_factory):
    from curation.cli import main

    base = tmp_path_factory.mktemp("first")
    pipe = base / "p.yaml"
    pipe.write_text(yaml.safe_dump(FUSED))
    out = base / "run"
    assert main(["run", str(pipe), "--input", str(ROOT / "sample" / "warc"), "--output", str(out),
                 "--workers", "2", "--quiet"]) == 0
    return out


def _curate(*args, stdin=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "curate"), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def _n(run, sql) -> int:
    from curation.query import query

    return query(run, sql)[1][0][0]


def test_a_view_per_stage_even_fused(fused_run):
    from curation.status import run_status

    st = run_status(fused_run)["stages"]
    assert (fused_run / "01-url_filter").is_dir() and not (fused_run / "01-extract").exists()
    assert _n(fused_run, "SELECT count(*) FROM extract") == st["extract"]["kept"]
    assert _n(fused_run, "SELECT count(*) FROM url_filter") == st["url_filter"]["kept"]
    assert _n(fused_run, "SELECT count(*) FROM kept") == st["url_dedup"]["kept"]
    assert _n(fused_run, 'SELECT count(*) FROM "01-url_filter"') == st["url_filter"]["kept"]
    # the fused stage's view is its group's output plus what the later stage of the group rejected
    assert _n(fused_run, "SELECT count(*) FROM extract WHERE text IS NULL") == 0


def test_the_cli_query_of_the_issue(fused_run):
    r = _curate("query", str(fused_run), "SELECT count(*) AS n FROM extract", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["n"] > 0


def test_expected_failures_are_one_line(fused_run):
    r = _curate("query", str(fused_run), "SELECT count(*) FROM no_such_view")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "no_such_view" in r.stderr and "views: " in r.stderr and "extract" in r.stderr  # names the views
    r = _curate("query", str(fused_run), "SELEC 1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Parser" in r.stderr
    r = _curate("status", str(fused_run / "nope"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    # --log-level debug shows the traceback of the same error
    r = _curate("--log-level", "debug", "query", str(fused_run), "SELEC 1")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_status_into_head_is_quiet(fused_run):
    r = subprocess.run(f"'{BIN / 'curate'}' status '{fused_run}' | head -1", shell=True, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("run ") and r.stderr == ""
    # the producer itself: the reader leaves after one line; no "Broken pipe", SIGPIPE's status
    p = subprocess.Popen([str(BIN / "python"), "-c", (
        "import sys\nfrom curation.cli import main\nfrom curation.status import format_status\n"
        "import curation.status as s\ns.format_status = lambda st: 'x\\n' * 200000\n"
        "sys.exit(main(['status', sys.argv[1]]))\n"), str(fused_run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == "", err


def test_validate_the_default_pipeline_without_running(tmp_path):
    r = _curate("validate", str(ROOT / "pipelines" / "llama3.yaml"), "--input", str(ROOT / "sample"), "--json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["shards"] >= 1 and plan["inputs"]["files"] > 50
    assert plan["groups"][0]["stages"] == ["extract", "url_filter"]
    assert {"quality_fasttext", "quality_roberta", "domain", "tokenizer"} <= set(plan["models"])
    assert not list(tmp_path.iterdir())
    r = _curate("validate", str(ROOT / "pipelines" / "clean.yaml"), "--input", str(ROOT / "sample"))
    assert r.returncode == 0, r.stderr
    assert "mix" not in r.stdout and "tokenize" not in r.stdout


def test_set_overrides_and_did_you_mean(tmp_path):
    from curation.config import ConfigError, load_pipeline

    llama3 = ROOT / "pipelines" / "llama3.yaml"
    cfg = load_pipeline(llama3, ["heuristics.min_words=30", "mix.target={general: 1.0}", "input.batch_docs=7"])
    st = {s.name: s.params for s in cfg.stages}
    assert st["heuristics"]["min_words"] == 30 and st["mix"]["target"] == {"general": 1.0}
    assert cfg.input.batch_docs == 7
    with pytest.raises(ConfigError, match="did you mean 'heuristics'"):
        load_pipeline(llama3, ["heuristcs.min_words=3"])
    with pytest.raises(ConfigError, match="did you mean 'min_words'"):
        load_pipeline(llama3, ["heuristics.min_wrds=3"])
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nstages:\n  - op: extrct\n")
    r = _curate("validate", str(bad), "--input", str(ROOT / "sample"))
    assert r.returncode == 2 and "did you mean 'extract'" in r.stderr
    bad.write_text("name: x\nstages: [\n")
    r = _curate("validate", str(bad), "--input", str(ROOT / "sample"))
    assert r.returncode == 2 and str(bad) in r.stderr and "<unicode string>" not in r.stderr


def test_submit_without_a_token_is_one_line(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = _curate("submit", str(ROOT / "tests" / "service" / "pipeline.yaml"), "--input", "/data/x",
                "--output", "/data/out", "--address", "http://127.0.0.1:9", "--working-dir", str(ROOT),
                env={"HOME": str(home), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "", "RAY_ADDRESS": ""})
    assert r.returncode == 2, (r.stdout, r.stderr)
    # one error line (after the job's models note, which submit prints first)
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert "Traceback" not in r.stderr and len(errors) == 1 and errors[0].startswith("curate: error:"), r.stderr
