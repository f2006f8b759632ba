"""The run folder on local disk: a path with quotes through run/status/query, crafted folder names,
one driver per folder (a concurrent second run, a stale lock), temporaries never read, a dead
driver shown as stopped, and no run path built outside curation/run."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from curation.cli import main
from curation.run import commit, lock, progress
from curation.run.layout import RunLayout

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = {"name": "folder-test", "input": {"shard_max_bytes": 150_000, "batch_docs": 50},
            "stages": [{"op": "extract", "engine": "resiliparse", "min_chars": 200}, {"op": "url_dedup"}]}


@pytest.fixture(scope="module")
def quoted_run(ray_local, sample_dir, tmp_path_factory):
    """A CLI run into a folder whose path holds both quote characters."""
    base = tmp_path_factory.mktemp("q")
    pipe = base / "p.yaml"
    pipe.write_text(yaml.safe_dump(PIPELINE))
    out = base / "it's a \"run\""
    assert main(["run", str(pipe), "--input", str(sample_dir / "warc"), "--output", str(out), "--workers", "2",
                 "--quiet"]) == 0
    return pipe, out


def _status(out, capsys) -> dict:
    assert main(["status", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _query(out, sql, capsys) -> list[dict]:
    assert main(["query", str(out), sql, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_quoted_path_through_run_status_query(quoted_run, capsys):
    _, out = quoted_run
    st = _status(out, capsys)
    assert st["progress"]["state"] == "finished"
    rejected = sum(s["rejected"] for s in st["stages"].values())
    assert _query(out, "SELECT count(*) AS n FROM rejected", capsys)[0]["n"] == rejected
    assert _query(out, "SELECT count(*) AS n FROM final", capsys)[0]["n"] == st["stages"]["url_dedup"]["kept"]
    assert json.loads(_query(out, "SELECT json FROM run", capsys)[0]["json"])["pipeline"] == "folder-test"


def test_crafted_folder_names_are_views_not_sql(quoted_run, capsys):
    _, out = quoted_run
    part = next((out / "01-extract").glob("part-*.parquet"))
    crafted = out / "09-x'); DROP TABLE run; --"
    crafted.mkdir()
    shutil.copy(part, crafted / part.name)
    (out / "rejected" / "y' OR 1=1 --").mkdir()
    shutil.copy(next((out / "rejected" / "extract").glob("part-*.parquet")), out / "rejected" / "y' OR 1=1 --" / part.name)
    try:
        names = {r["table_name"] for r in _query(out, "SELECT table_name FROM duckdb_tables() UNION ALL "
                                                      "SELECT view_name FROM duckdb_views()", capsys)}
        assert "run" in names
        n = _query(out, 'SELECT count(*) AS n FROM "x____DROP_TABLE_run____"', capsys)[0]["n"]
        assert n > 0
        assert _query(out, "SELECT count(*) AS n FROM run", capsys)[0]["n"] == 1
    finally:
        shutil.rmtree(crafted)
        shutil.rmtree(out / "rejected" / "y' OR 1=1 --")


def test_temporaries_in_finished_folders_are_never_read(quoted_run, capsys):
    _, out = quoted_run
    before = _status(out, capsys)["stages"]
    junk = [out / "01-extract" / ".tmp-0badc0de-part-00000.parquet",
            out / "rejected" / "extract" / ".tmp-0badc0de-part-00001.parquet",
            out / "stats" / "extract" / ".tmp-0badc0de-part-00001.parquet"]
    for j in junk:
        j.write_bytes(b"PAR1 half written by a worker that was killed")
    try:
        assert _status(out, capsys)["stages"] == before
        assert _query(out, "SELECT count(*) AS n FROM extract", capsys)[0]["n"] == before["extract"]["kept"]
    finally:
        for j in junk:
            j.unlink()


def test_second_run_refused_while_the_first_holds_the_folder(quoted_run, capsys):
    pipe, out = quoted_run
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom curation.run.lock import RunLock\nfrom curation.run.layout import RunLayout\n"
        "RunLock(RunLayout(sys.argv[1])).acquire()\nprint('held', flush=True)\ntime.sleep(120)\n"), str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["run", str(pipe), "--input", str(ROOT / "sample" / "warc"), "--output", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and "in use by another run" in err and f"pid {holder.pid}" in err
        assert _status(out, capsys)["progress"]["state"] == "running"  # a live driver holds it
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale, the next run takes over (and resumes: all committed)
    assert lock.state(RunLayout(out)) == "stale"
    assert main(["run", str(pipe), "--input", str(ROOT / "sample" / "warc"), "--output", str(out), "--quiet"]) == 0
    assert "recovered the stale lock" not in capsys.readouterr().err  # --quiet
    assert not (out / "run.lock").exists()


def test_status_says_stopped_when_the_driver_died(tmp_path):
    from curation.status import live_progress

    layout = RunLayout(tmp_path)
    progress.update(layout, "read+extract", 1, 4, 0, 10, time.time() - 5, False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    commit.write_json_atomic(layout.fs, layout.lock(), dict(lock.RunLock(layout).owner, pid=dead.pid))
    run = {"shards": [f"part-{i:05d}" for i in range(4)], "groups": [{"name": "01-extract"}]}
    assert live_progress(layout, run)["state"] == "stopped"


# -- no run path outside curation/run ----------------------------------------------------------------

#: names that only the run package may use to build a path
RUN_NAMES = {"run.json", "run.lock", "progress.json", "manifest.json", "report.html", "_work", "rejected", "stats",
             "mix", "anneal", "tokens", "logs", "decisions", "collect", "summaries", "parts.json"}
PATH_CALLS = {"join", "glob", "rglob", "with_name", "joinpath", "Path", "exists", "open", "read_text",
              "write_text", "read_table", "write_table", "ParquetFile", "ParquetWriter", "dataset", "read_parquet"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = []

    def bad_const(node) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and (
            node.value in RUN_NAMES or node.value.startswith("part-") or "/part-" in node.value)

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and (bad_const(node.left) or bad_const(node.right)):
            out.append(f"{path}:{node.lineno}: path built with '/'")
        elif isinstance(node, ast.Call):
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if fn in PATH_CALLS and any(bad_const(a) for a in node.args):
                out.append(f"{path}:{node.lineno}: path built in {fn}()")
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if "part-" in text or "/mix/" in text or "/rejected/" in text or "/stats/" in text:
                out.append(f"{path}:{node.lineno}: run path in an f-string")
    return out


def test_no_run_path_built_outside_the_run_package():
    pkg = ROOT / "curation"
    problems = []
    for f in sorted(pkg.rglob("*.py")):
        if f.is_relative_to(pkg / "run") or f.is_relative_to(pkg / "classifiers"):
            continue  # classifiers/: the models folder, not a run
        problems += _violations(f)
    assert not problems, "\n".join(problems)


def test_the_path_check_catches_hand_built_paths(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('from pathlib import Path\nroot = Path("x")\na = root / "manifest.json"\n'
                   'b = list(root.glob("part-*.parquet"))\nc = f"{root}/mix/part-{1:05d}.parquet"\n')
    assert len(_violations(bad)) == 3
