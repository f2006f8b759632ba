"""Secure defaults: bad pipeline files fail before any work, naming the field; writes stay inside
--output; no unsafe deserialization of user files anywhere in the package."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from svc_helpers import ROOT

BAD_PIPELINES = [
    # (yaml, words the one-line error must contain)
    ("stages:\n  - op: extract\n    engine: lynx\n", ["stages[0]", "engine", "trafilatura", "resiliparse"]),
    ("stages:\n  - op: extract\n    min_chars: many\n", ["stages[0]", "min_chars", "integer"]),
    ("stages:\n  - op: extract\n    colour: blue\n", ["stages[0]", "colour", "not permitted"]),
    ("stages:\n  - op: exttract\n", ["stages[0].op", "unknown operator", "extract"]),
    ("stages:\n  - engine: trafilatura\n", ["stages[0]", "'op'"]),
    ("stages: []\n", ["stages", "non-empty list"]),
    ("input:\n  shard_max_bytes: -5\nstages:\n  - op: extract\n", ["input.shard_max_bytes", "greater than 0"]),
    ("input:\n  shard_max_byte: 5\nstages:\n  - op: extract\n", ["input.shard_max_byte", "not permitted"]),
    ("stages:\n  - op: extract\n  - op: extract\n", ["unique", "extract"]),
    ("stages:\n  - op: extract\n    name: read\n", ["reserved"]),
    ("stages: [op: extract\n", ["not valid YAML"]),
    ("- just\n- a list\n", ["mapping"]),
]


@pytest.mark.parametrize("text,words", BAD_PIPELINES)
def test_bad_pipeline_error_names_field(tmp_path, text, words):
    from curation.config import ConfigError, load_pipeline

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_pipeline(path)
    msg = str(e.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_bad_pipeline_fails_before_any_work(tmp_path):
    """The CLI exits 2 with a one-line error and writes nothing: no output folder, no Ray started."""
    path = tmp_path / "bad.yaml"
    path.write_text("stages:\n  - op: extract\n    timeout_s: soon\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "curation", "run", str(path), "--input", str(ROOT / "sample" / "warc"),
                           "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "timeout_s" in proc.stderr and "Traceback" not in proc.stderr
    assert "Started a local Ray" not in proc.stderr
    assert not out.exists()


def test_layout_refuses_paths_outside_output(tmp_path):
    from curation.run.layout import RunLayout

    layout = RunLayout(tmp_path / "run")
    assert layout.inside(tmp_path / "run" / "stats" / "x.parquet")
    for bad in (tmp_path / "elsewhere", tmp_path / "run" / ".." / "x", "/etc/passwd"):
        with pytest.raises(ValueError, match="outside the output folder"):
            layout.inside(bad)


def test_run_writes_only_inside_output(service_run):
    """Every file a run leaves is under its output folder; no temp files or work folders are left over."""
    files = [p for p in service_run.rglob("*") if p.is_file()]
    assert files
    assert all(service_run in p.resolve().parents for p in files)
    assert not (service_run / "_work").exists()
    assert not [p for p in files if p.name.startswith(".tmp-")]


UNSAFE = [
    (r"\bpickle\.loads?\(", "pickle.load"),
    (r"\bcloudpickle\.loads?\(", "cloudpickle.load"),
    (r"\bdill\.loads?\(", "dill.load"),
    (r"\bjoblib\.load\(", "joblib.load"),
    (r"\bnp\.load\([^)]*allow_pickle\s*=\s*True", "np.load(allow_pickle=True)"),
    (r"\byaml\.load\(", "yaml.load (use yaml.safe_load)"),
    (r"(?<![.\w])eval\(", "eval"),  # the builtin, not model.eval()
]


def test_no_unsafe_deserialization_in_package():
    """No pickle-family loads, no unsafe YAML, and torch.load only with weights_only=True."""
    problems = []
    for path in sorted((ROOT / "curation").rglob("*.py")):
        src = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        for pattern, what in UNSAFE:
            for m in re.finditer(pattern, src):
                problems.append(f"{rel}:{src.count(chr(10), 0, m.start()) + 1}: {what}")
        for m in re.finditer(r"\btorch\.load\(", src):
            depth, i = 0, m.end() - 1  # the whole call, with nested parentheses
            for i in range(m.end() - 1, len(src)):
                depth += {"(": 1, ")": -1}.get(src[i], 0)
                if depth == 0:
                    break
            call = src[m.start(): i + 1]
            if not re.search(r"weights_only\s*=\s*True", call):
                problems.append(f"{rel}:{src.count(chr(10), 0, m.start()) + 1}: torch.load without weights_only=True")
    assert not problems, "\n".join(problems)
