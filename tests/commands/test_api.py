"""The Python API (curation.api): a pipeline from operator objects is the pipeline file's; the
example runs through it; a run is read back (status, views, query) and named as RUN@STAGE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curation.api import Pipeline, open_run
from curation.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_objects_and_yaml_give_the_same_checked_config(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from no_lorem import NoLorem

    from curation.operators.extract import Extract

    built = Pipeline([Extract({"engine": "resiliparse"}), NoLorem()], name="lorem-example").config()
    read = Pipeline.from_yaml(ROOT / "examples" / "pipeline.yaml").config()
    assert built.model_dump() == read.model_dump()
    with pytest.raises(ConfigError, match="stage 'mix' requires column 'domain'"):
        Pipeline([{"op": "mix"}])  # checked when built, before any work


def test_the_example_runs_and_the_run_reads_back(tmp_path, sample_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "run_pipeline.py"), str(sample_dir / "warc"),
                        str(out), "--objects"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    st = json.loads(r.stdout.strip().splitlines()[-1])
    assert st["in"] > 50 and st["in"] == st["kept"] + st["rejected"]
    run = open_run(out)
    assert run.status()["stages"]["no_lorem"] == st
    assert "no_lorem" in run.views()
    n = run.query("SELECT count(*) AS n FROM no_lorem")[0]["n"]
    assert n == st["kept"]
    assert run.stage("no_lorem") == f"{run.uri}@no_lorem"
