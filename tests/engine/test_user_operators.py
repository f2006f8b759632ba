"""User operators (``op: module:Class`` from a module outside the package) on a real Ray, declared
columns checked before any work, and fusion split by declared resources."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import ConfigError, parse_pipeline
from curation.engine.plan import plan_groups
from curation.engine.runner import RunOptions, run_pipeline
from curation.status import run_status

ROOT = Path(__file__).resolve().parents[2]
CURATE = str(Path(sys.executable).parent / "curate")

MODULE = '''
import os
import pyarrow as pa
import pyarrow.compute as pc
from curation.operators import Annotator, Filter, reasons_where


class NoLorem(Filter):
    name = "no_lorem"

    def decide(self, table):
        return reasons_where(pc.match_substring(pc.utf8_lower(table.column("text")), "lorem ipsum"), "lorem_ipsum")


class OnGpu(Annotator):
    name = "on_gpu"
    num_gpus = 1
    provides = ("gpu_seen",)

    def annotate(self, table):
        return {"gpu_seen": pa.array([os.environ.get("CUDA_VISIBLE_DEVICES") or ""] * table.num_rows, pa.string())}


class OnCpu(Annotator):
    name = "on_cpu"
    requires = ("gpu_seen",)
    provides = ("cpu_seen",)

    def annotate(self, table):
        return {"cpu_seen": pa.array([os.environ.get("CUDA_VISIBLE_DEVICES") or ""] * table.num_rows, pa.string())}
'''


@pytest.fixture()
def user_dir(tmp_path) -> Path:
    """A folder holding the user's module and a JSONL input: 30 real-looking texts, 7 with lorem ipsum."""
    d = tmp_path / "user"
    d.mkdir()
    name = f"user_ops_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    (d / f"{name}.py").write_text(MODULE)
    rows = [{"id": f"d{i}", "url": f"https://example.org/{i}",
             "text": ("Lorem ipsum dolor sit amet. " if i % 4 == 0 else "") + f"Document {i} says something plain."}
            for i in range(30)]
    (d / "in").mkdir()
    with gzip.open(d / "in" / "docs.jsonl.gz", "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    (d / "module").write_text(name)
    return d


def test_user_filter_runs_on_ray_and_is_accounted(user_dir, ray_local, monkeypatch, tmp_path):
    mod = (user_dir / "module").read_text()
    monkeypatch.syspath_prepend(str(user_dir))
    cfg = parse_pipeline({"input": {"batch_docs": 8}, "stages": [{"op": f"{mod}:NoLorem"}]})
    assert cfg.stages[0].name == "no_lorem"
    out = tmp_path / "run"
    run_pipeline(cfg, [str(user_dir / "in")], str(out), RunOptions(workers=2, progress=False))
    st = run_status(out)["stages"]["no_lorem"]
    assert st == {**st, "in": 30, "kept": 22, "rejected": 8, "reasons": {"lorem_ipsum": 8}}
    rej = pq.read_table(out / "rejected" / "no_lorem").to_pylist()
    assert {r["stage"] for r in rej} == {"no_lorem"} and all("Lorem" in r["text"] for r in rej)


def test_user_filter_in_curate_run_from_the_working_directory(user_dir, tmp_path):
    """The console script, run where the module lies (no PYTHONPATH): status adds up."""
    mod = (user_dir / "module").read_text()
    (user_dir / "p.yaml").write_text(f"name: lorem\nstages:\n  - op: {mod}:NoLorem\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    out = tmp_path / "cli-run"
    r = subprocess.run([CURATE, "run", "p.yaml", "--input", "in", "--output", str(out), "--workers", "1"],
                       cwd=user_dir, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    st = json.loads(subprocess.run([CURATE, "status", str(out), "--json"], capture_output=True, text=True,
                                   check=True, env=env).stdout)["stages"]
    assert (st["no_lorem"]["in"], st["no_lorem"]["kept"], st["no_lorem"]["rejected"]) == (30, 22, 8)
    assert st["no_lorem"]["reasons"] == {"lorem_ipsum": 8} and st["read"]["kept"] == 30


def test_bad_user_operators_are_one_line_errors(user_dir, monkeypatch):
    mod = (user_dir / "module").read_text()
    monkeypatch.syspath_prepend(str(user_dir))
    with pytest.raises(ConfigError, match=r"stages\[0\].op: operator 'nowhere_mod:X': cannot import module"):
        parse_pipeline({"stages": [{"op": "nowhere_mod:X"}]})
    with pytest.raises(ConfigError, match="'pa' in .* is not a subclass of curation.operators.Filter"):
        parse_pipeline({"stages": [{"op": f"{mod}:pa"}]})
    with pytest.raises(ConfigError, match="field 'nope'"):
        parse_pipeline({"stages": [{"op": f"{mod}:NoLorem", "nope": 1}]})


def test_mix_without_domain_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="stage 'mix' requires column 'domain', which no stage before it provides"):
        parse_pipeline({"stages": [{"op": "extract"}, {"op": "mix"}]})
    with pytest.raises(ConfigError, match="stage 'domain', which provides it, comes after it"):
        parse_pipeline({"stages": [{"op": "extract"}, {"op": "mix"}, {"op": "domain"}]})
    (tmp_path / "p.yaml").write_text("stages:\n  - op: extract\n  - op: mix\n")
    r = subprocess.run([CURATE, "run", str(tmp_path / "p.yaml"), "--input", str(tmp_path), "--output",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "requires column 'domain'" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_fusion_splits_where_declared_resources_change():
    cfg = parse_pipeline({"stages": [{"op": "language"}, {"op": "domain"}, {"op": "decontaminate"},
                                     {"op": "quality"}, {"op": "pii"}]})
    groups = [(g.stage_names, g.num_gpus) for g in plan_groups(cfg)]
    assert groups == [(["language", "domain", "decontaminate"], 0), (["quality"], 1), (["pii"], 0)]


SCRIPT = '''
import json, sys
import ray
sys.path.insert(0, sys.argv[1])
from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
import pyarrow.parquet as pq
ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
mod = sys.argv[2]
cfg = parse_pipeline({"stages": [{"op": f"{mod}:OnGpu"}, {"op": f"{mod}:OnCpu"}]})
out = run_pipeline(cfg, [sys.argv[1] + "/in"], sys.argv[3], RunOptions(workers=1, progress=False))
t = pq.read_table(out.root + "/02-on_cpu")
print(json.dumps({"gpu": sorted(set(t.column("gpu_seen").to_pylist())), "cpu": sorted(set(t.column("cpu_seen").to_pylist()))}))
ray.shutdown()
'''


def test_a_cpu_stage_after_a_gpu_stage_runs_on_cpu_actors(user_dir, tmp_path):
    """A Ray with one (logical) GPU: the GPU stage's actor sees a GPU, the CPU stage after it none."""
    mod = (user_dir / "module").read_text()
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "RAY_ADDRESS")}
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(user_dir), mod, str(tmp_path / "run")], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"gpu": ["0"], "cpu": [""]}


def test_examples_run(tmp_path, sample_dir):
    """examples/run_pipeline.py (the Python API over examples/pipeline.yaml and its user filter)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "run_pipeline.py"), str(sample_dir / "warc"),
                        str(tmp_path / "run")], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    st = json.loads(r.stdout.strip().splitlines()[-1])
    assert st["in"] > 50 and st["in"] == st["kept"] + st["rejected"]
    assert set(st["reasons"]) <= {"lorem_ipsum"}
