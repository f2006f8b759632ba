"""``curate ops``: every built-in operator with its parameters, defaults and declared columns, the
same declarations the pipeline check uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from curation.operators import REGISTRY, operator_class

CURATE = str(Path(sys.executable).parent / "curate")


def _ops(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CURATE, "ops", *args], capture_output=True, text=True, timeout=120)


def test_ops_json_lists_every_operator_from_its_declarations():
    r = _ops("--json")
    assert r.returncode == 0, r.stderr
    entries = {e["op"]: e for e in json.loads(r.stdout)}
    assert set(entries) == set(REGISTRY)
    mix = entries["mix"]
    assert mix["kind"] == "global" and "domain" in mix["requires"]
    assert {p["name"]: p["default"] for p in mix["params"]}["max_epochs"] == 4.0
    assert entries["quality"]["num_gpus"] == 1
    for op, e in entries.items():  # the same as the classes declare
        inst = operator_class(op)()
        assert e["requires"] == list(inst.requires) and e["provides"] == list(inst.provides), op


def test_ops_text_and_a_user_operator(tmp_path):
    r = subprocess.run([CURATE, "ops", "no_lorem:NoLorem", "mix"], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[2] / "examples")
    assert r.returncode == 0, r.stderr
    assert "no_lorem:NoLorem  (map; cpus 1)" in r.stdout and 'phrase: str = "lorem ipsum"' in r.stdout
    assert "requires: domain" in r.stdout
    bad = _ops("nope")
    assert bad.returncode == 2 and bad.stderr.startswith("curate: error: unknown operator 'nope'")
