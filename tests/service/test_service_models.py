"""Models reach the cluster: `curate submit` ships the user's models (or points at the cluster's),
a submitted run on a real Ray head does not retrain them, and a run that must train says so first."""

from __future__ import annotations

import os
import subprocess
from argparse import Namespace

import pyarrow.parquet as pq
import pytest

from svc_helpers import BIN, ROOT, cluster_env

MODELS_PIPELINE = ROOT / "tests" / "service" / "models_pipeline.yaml"
JOB_TIMEOUT_S = 300
TRAINING = "training missing model"


def _args(**kw):
    base = dict(pipeline=str(MODELS_PIPELINE), input=[str(ROOT / "sample" / "warc")], output="/shared/runs/m",
                working_dir=str(ROOT), runtime_env=None, workers=None, no_report=False, models="auto")
    base.update(kw)
    return Namespace(**base)


@pytest.fixture(scope="module")
def repo_models():
    """The checkout's models/ with the domain model (trained once, about 10 s, when missing)."""
    from curation.classifiers import models_dir as md

    if os.environ.get("CURATION_MODELS"):
        pytest.skip("$CURATION_MODELS is set: these tests ship the checkout's models/")
    return md.ensure(None, ("domain",), quiet=True)


def test_submit_ships_complete_local_models(repo_models):
    from curation.commands.submit import prepare

    _, env, jm = prepare(_args())
    assert jm.mode == "ship" and jm.folder == "models"
    assert env["env_vars"]["CURATION_MODELS"] == "models"  # relative: each node's copy of the working dir
    assert "models/" not in env["excludes"]
    # .gitignore's other lines still keep the upload small (Ray is told to skip .gitignore itself)
    assert ".venv/" in env["excludes"] and "runs/" in env["excludes"] and "models/.train.lock" in env["excludes"]


def test_submit_models_on_the_cluster_or_a_shared_path(repo_models):
    from curation.cli import main
    from curation.commands.submit import prepare

    _, env, jm = prepare(_args(models="/mnt/shared/models"))
    assert jm.mode == "path" and env["env_vars"]["CURATION_MODELS"] == "/mnt/shared/models"
    assert "models/" in env["excludes"]
    _, env, jm = prepare(_args(models="cluster"))
    assert jm.mode == "cluster" and "CURATION_MODELS" not in env["env_vars"] and "models/" in env["excludes"]
    rc = main(["submit", str(MODELS_PIPELINE), "--input", "sample/warc", "--output", "/x", "--models", "rel/models",
               "--address", "http://127.0.0.1:9"])
    assert rc == 2  # a relative cluster path is a usage error, before any upload


def test_submit_refuses_to_ship_incomplete_models(tmp_path, monkeypatch):
    from curation.cli import UserError
    from curation.commands.submit import prepare

    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("CURATION_MODELS", str(empty))
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(MODELS_PIPELINE.read_text())
    with pytest.raises(UserError, match="lacks domain"):
        prepare(_args(models="ship", working_dir=str(tmp_path), pipeline=str(pipeline)))
    _, env, jm = prepare(_args(working_dir=str(tmp_path), pipeline=str(pipeline)))
    assert jm.mode == "cluster" and "lacks domain" in jm.note
    _, env, jm = prepare(_args(working_dir=str(ROOT)))  # auto: not shipped, and says why
    assert jm.mode == "cluster" and "outside --working-dir" in jm.note


def test_run_that_must_train_says_so_first(tmp_path):
    from curation.config import load_pipeline
    from curation.preflight import training_notice

    models = tmp_path / "models"
    env = dict(os.environ, CURATION_MODELS=str(models))
    out = tmp_path / "run"
    proc = subprocess.run([str(BIN / "curate"), "run", str(MODELS_PIPELINE), "--input", "sample/warc/commoncrawl_CC-MAIN-2020-34_excerpt.warc.gz",
                           "--output", str(out), "--workers", "1", "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = proc.stderr.splitlines()[0]
    assert first.startswith("curation: models missing from") and "domain" in first, proc.stderr[:2000]
    assert (models / "domain_fasttext" / "domain.bin").is_file()
    # the folder now has the model: no notice for the next run
    os.environ["CURATION_MODELS"] = str(models)
    try:
        assert training_notice(load_pipeline(MODELS_PIPELINE)) is None
    finally:
        del os.environ["CURATION_MODELS"]


def test_submitted_run_uses_shipped_models_without_retraining(ray_head, repo_models, tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in (repo_models / "domain_fasttext").iterdir()}
    out = tmp_path / "run"
    cmd = [str(BIN / "curate"), "submit", str(MODELS_PIPELINE.relative_to(ROOT)), "--input", "sample/warc/",
           "--output", str(out), "--workers", "2", "--no-report", "--address", ray_head.address,
           "--timeout", str(JOB_TIMEOUT_S)]
    env = cluster_env()
    env.pop("CURATION_MODELS", None)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S + 60)
    log = proc.stdout + proc.stderr
    if proc.returncode == 3:
        subprocess.run([str(BIN / "ray"), "job", "stop", "--address", ray_head.address, "--no-wait",
                        log.split("submitted job ")[1].split()[0]], env=env, capture_output=True)
    assert proc.returncode == 0, log[-4000:]
    assert "models: shipping models/" in log
    assert TRAINING not in log and "models missing" not in log, log[-4000:]
    run_log = (out / "logs" / "run.log").read_text() if (out / "logs" / "run.log").is_file() else ""
    assert TRAINING not in run_log
    # the domain stage ran with the shipped model: every kept document has a domain
    dom = [p for p in out.iterdir() if p.name.endswith("domain")]
    assert dom, sorted(p.name for p in out.iterdir())
    t = pq.ParquetDataset(dom[0]).read(columns=["domain"])
    assert t.num_rows > 0 and set(t.column("domain").to_pylist()) <= {"general", "math", "code", "multilingual",
                                                                    "undetermined"}
    # the user's models were read, not rewritten
    assert before == {p.name: p.stat().st_mtime_ns for p in (repo_models / "domain_fasttext").iterdir()}
    from curation.status import run_status

    assert run_status(out)["pipeline"] == "service-models"
