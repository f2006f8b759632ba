"""infra/: the cluster launcher file, the KubeRay manifests, the container file and the runtime env
name the versions pyproject.toml pins and entry points that exist, with secure defaults."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest
import yaml

from svc_helpers import ROOT

INFRA = ROOT / "infra"


@pytest.fixture(scope="module")
def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(project) -> dict[str, str]:
    """Exact pins (`name[extras]==version`) of pyproject.toml, by bare package name."""
    out = {}
    for dep in project["dependencies"]:
        m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^;\s]+)", dep)
        if m:
            out[m.group(1).lower()] = m.group(3)
    return out


def _image(project) -> str:
    return f"curation:{project['version']}"


def _containers(obj):
    """Every container spec in a (nested) manifest."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "containers":
                yield from v
            else:
                yield from _containers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _containers(v)


def _check_entrypoint(command: str) -> None:
    """Each `python -m curation ...` in a shell command parses with our CLI; pipelines exist and load."""
    from curation.cli import build_parser
    from curation.config import load_pipeline

    parts = [shlex.split(c) for c in re.split(r"&&|;", command) if c.strip()]
    assert parts
    for argv in parts:
        assert argv[:3] == ["python", "-m", "curation"], argv
        args = build_parser().parse_args(argv[3:])
        if args.command == "run":
            assert args.output.startswith("/data/"), "runs go to the shared volume"
            local = ROOT / re.sub(r"^/app/", "", args.pipeline)
            load_pipeline(local)
            for inp in args.input:
                if inp.startswith("/app/"):
                    assert (ROOT / inp[len("/app/"):]).exists(), inp


def test_containerfile_pins_match_pyproject(project):
    text = (INFRA / "Containerfile").read_text()
    pins = _pins(project)
    assert pins["ray"] == "2.60.0" and pins["torch"] == "2.13.0"
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    assert args["RAY_VERSION"] == pins["ray"]
    assert args["TORCH_VERSION"] == pins["torch"]
    assert args["CURATION_VERSION"] == project["version"]
    # the pinned install line uses those ARGs with pyproject's extras
    ray_dep = next(d for d in project["dependencies"] if d.startswith("ray"))
    assert f'"{ray_dep.split("==")[0]}==${{RAY_VERSION}}"' in text
    assert '"torch==${TORCH_VERSION}"' in text
    # every other dependency is installed from pyproject.toml itself
    assert re.search(r"^RUN pip install \.", text, re.M)
    # python version of the base image satisfies requires-python
    base = re.search(r"^FROM python:(\d+)\.(\d+)", text, re.M)
    need = re.search(r">=(\d+)\.(\d+)", project["requires-python"])
    assert (int(base[1]), int(base[2])) >= (int(need[1]), int(need[2]))
    assert re.search(r"^USER ray", text, re.M), "runs as a non-root user"
    for path in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (ROOT / path).exists(), path


def test_cluster_launcher(project):
    cfg = yaml.safe_load((INFRA / "cluster.yaml").read_text())
    types = cfg["available_node_types"]
    assert cfg["head_node_type"] in types
    cpu = [t for t in types.values() if t["resources"].get("CPU", 0) > 0 and not t["resources"].get("GPU")]
    gpu = [t for t in types.values() if t["resources"].get("GPU", 0) > 0]
    assert cpu and gpu, "a CPU pool and a GPU pool"
    assert all(t.get("max_workers", 0) > t.get("min_workers", 0) for t in cpu + gpu), "both pools autoscale"
    assert "--gpus all" in " ".join(gpu[0]["docker"]["worker_run_options"])
    assert cfg["docker"]["image"] == _image(project)
    head = " ".join(cfg["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head
    assert "RAY_AUTH_MODE=token" in head and "RAY_AUTH_MODE=token" in " ".join(cfg["worker_start_ray_commands"])
    assert any("auth_token" in k for k in cfg["file_mounts"])
    assert not cfg["setup_commands"], "everything comes from the image"


def test_kuberay_manifests(project):
    pins = _pins(project)
    cluster = [d for d in yaml.safe_load_all((INFRA / "kuberay" / "raycluster.yaml").read_text()) if d]
    job = yaml.safe_load((INFRA / "kuberay" / "rayjob.yaml").read_text())
    rc = next(d for d in cluster if d["kind"] == "RayCluster")
    assert any(d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == "curation-data" for d in cluster)
    assert job["kind"] == "RayJob"
    for doc, spec in ((rc, rc["spec"]), (job, job["spec"]["rayClusterSpec"])):
        assert doc["apiVersion"] == "ray.io/v1"
        assert spec["rayVersion"] == pins["ray"]
        assert spec["authOptions"]["mode"] == "token"
        groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
        assert set(groups) == {"cpu", "gpu"}
        gpu_limits = groups["gpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert gpu_limits["nvidia.com/gpu"] == "1"
        assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    images = {c["image"] for c in _containers(cluster)} | {c["image"] for c in _containers(job)}
    assert images == {_image(project)}
    # the standalone cluster keeps its dashboard on loopback (reach it with kubectl port-forward)
    assert rc["spec"]["headGroupSpec"]["rayStartParams"]["dashboard-host"] == "127.0.0.1"
    for c in list(_containers(cluster)) + list(_containers(job)):
        assert "limits" in c["resources"]
    _check_entrypoint(job["spec"]["entrypoint"])
    env = yaml.safe_load(job["spec"]["runtimeEnvYAML"])
    assert env["env_vars"]["PYTHONUNBUFFERED"] == "1"
    policy = yaml.safe_load((INFRA / "kuberay" / "networkpolicy.yaml").read_text())
    head_labels = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= head_labels.items()


def test_runtime_env():
    env = yaml.safe_load((INFRA / "runtime_env.yaml").read_text())
    assert set(env) <= {"excludes", "env_vars", "pip", "py_modules", "working_dir", "conda", "container"}
    assert "pip" not in env, "dependencies come from the image, not per-job installs"
    assert all(isinstance(v, str) for v in env["env_vars"].values())
    assert "runs/" in env["excludes"]
    # the runtime env Ray would build from it is accepted by Ray itself
    from ray.runtime_env import RuntimeEnv

    RuntimeEnv(**{**env, "working_dir": str(ROOT)})


def test_documented_raw_submit_command_parses():
    """The raw `ray job submit` form in docs/service.md runs entry points that exist."""
    doc = (ROOT / "docs" / "service.md").read_text()
    m = re.search(r"ray job submit [^\n]*?--runtime-env infra/runtime_env\.yaml[^\n]*? -- (python -m curation [^\n`]+)",
                  doc.replace("\\\n", " "))
    assert m, "docs/service.md documents the raw ray job submit form"
    command = re.sub(r"\s+", " ", m.group(1)).strip()
    from curation.cli import build_parser

    args = build_parser().parse_args(shlex.split(command)[3:])
    assert args.command == "run" and (ROOT / args.pipeline).exists()


def test_image_trains_the_models_at_build_time():
    """Jobs on the image read the models it trained ($CURATION_MODELS), so no job retrains them."""
    text = (INFRA / "Containerfile").read_text()
    models = re.search(r"^ENV CURATION_MODELS=(\S+)", text, re.M)
    assert models and models[1].startswith("/")
    train = re.search(r"^RUN curate train-classifiers --models \"\$\{CURATION_MODELS\}\"", text, re.M)
    assert train and train.start() > models.start()
    assert train.start() > re.search(r"^RUN pip install \.", text, re.M).start()
    env = yaml.safe_load((INFRA / "runtime_env.yaml").read_text())
    assert "models/" in env["excludes"] and "CURATION_MODELS" not in env["env_vars"]  # the image's is used
