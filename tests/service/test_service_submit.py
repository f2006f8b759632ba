"""`curate submit` against a real local Ray cluster (`ray start --head`), bounded in time."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from argparse import Namespace

import pytest

from svc_helpers import BIN, PIPELINE, ROOT, cluster_env

JOB_TIMEOUT_S = 300


def test_dashboard_binds_localhost_and_requires_token(ray_head):
    # Unauthenticated requests are refused: token auth is on.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{ray_head.address}/api/version", timeout=5)
    assert e.value.code in (401, 403)
    # The dashboard listens on the loopback interface only.
    out = subprocess.run(["ss", "-ltnH", f"sport = :{ray_head.dashboard_port}"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        local = {line.split()[3].rsplit(":", 1)[0] for line in out.stdout.strip().splitlines()}
        assert local <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, local


def test_submit_runs_pipeline_on_cluster(ray_head, tmp_path):
    out = tmp_path / "run"
    cmd = [str(BIN / "curate"), "submit", str(PIPELINE.relative_to(ROOT)), "--input", "sample/warc/",
           "--output", str(out), "--workers", "2", "--address", ray_head.address, "--timeout", str(JOB_TIMEOUT_S)]
    proc = subprocess.run(cmd, cwd=ROOT, env=cluster_env(), capture_output=True, text=True,
                          timeout=JOB_TIMEOUT_S + 60)
    log = proc.stdout + proc.stderr
    if proc.returncode == 3:  # still running at the deadline: stop it so the cluster can go
        subprocess.run([str(BIN / "ray"), "job", "stop", "--address", ray_head.address, "--no-wait",
                        log.split("submitted job ")[1].split()[0]], env=cluster_env(), capture_output=True)
    assert proc.returncode == 0, log[-4000:]
    assert "SUCCEEDED" in log
    # progress lines of the run reached the job logs
    assert "read+extract" in log and "shards" in log

    # the run folder the job wrote, checked with the same tools a user has
    from curation.status import run_status

    st = run_status(out)
    stages = st["stages"]
    assert st["pipeline"] == "service-test"
    assert st["shards"] >= 2
    assert stages["read"]["in"] >= 60  # the three bundled WARCs hold 67 pages
    for name in ("read", "extract", "url_dedup"):
        assert stages[name]["shards_done"] == st["shards"]
        assert stages[name]["in"] == stages[name]["kept"] + stages[name]["rejected"]
    assert stages["extract"]["in"] == stages["read"]["kept"]
    assert stages["extract"]["rejected"] > 0 and "empty_extraction" in stages["extract"]["reasons"]
    assert st["progress"]["state"] == "finished"
    # the job also wrote the report
    html = (out / "report.html").read_text()
    assert "<svg" in html and "service-test" in html
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["ray"] == "2.60.0"


def test_submit_validates_locally_before_any_upload(tmp_path):
    """Bad pipelines, relative outputs and pipelines outside the working dir fail with no cluster at all."""
    from curation.cli import main

    bad = ROOT / "tests" / "service" / "_bad_pipeline.yaml"
    bad.write_text("stages:\n  - op: extract\n    engine: lynx\n")
    try:
        rc = main(["submit", str(bad), "--input", "sample/warc", "--output", str(tmp_path / "x"),
                   "--address", "http://127.0.0.1:9"])
    finally:
        bad.unlink()
    assert rc == 2
    rc = main(["submit", str(PIPELINE), "--input", "sample/warc", "--output", "runs/relative",
               "--address", "http://127.0.0.1:9"])
    assert rc == 2
    outside = tmp_path / "p.yaml"
    outside.write_text(PIPELINE.read_text())
    rc = main(["submit", str(outside), "--input", "sample/warc", "--output", str(tmp_path / "x"),
               "--working-dir", str(ROOT), "--address", "http://127.0.0.1:9"])
    assert rc == 2


def test_submit_entrypoint_and_runtime_env():
    from curation.commands.submit import prepare

    args = Namespace(pipeline=str(PIPELINE), input=[str(ROOT / "sample" / "warc"), "/data/cc/*.warc.gz"],
                     output="/shared/runs/x y", working_dir=str(ROOT), runtime_env=None, workers=4, no_report=False)
    entry, env, jm = prepare(args)
    assert entry == ("python -m curation run tests/service/pipeline.yaml --input sample/warc/ '/data/cc/*.warc.gz' "
                     "--output '/shared/runs/x y' --workers 4 && python -m curation report '/shared/runs/x y'")
    assert env["working_dir"] == str(ROOT)
    assert "runs/" in env["excludes"] and env["env_vars"]["PYTHONUNBUFFERED"] == "1"
    assert jm.note == "models: none needed by this pipeline" and "models/" in env["excludes"]


def test_module_entrypoint_matches_cli():
    out = subprocess.run([sys.executable, "-m", "curation", "submit", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--runtime-env" in out.stdout
