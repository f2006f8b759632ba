"""Which models a submitted job uses: the ones the user has, shipped with the job, or a folder the
cluster already has (shared storage, or the image's ``$CURATION_MODELS``).

``curate submit --models`` takes

* ``ship``: upload the local models folder with the job's ``working_dir`` and point
  ``CURATION_MODELS`` at it (relative: the job's driver and Ray's workers all start in their node's
  copy of the working dir). The repository's ``.gitignore`` lists ``/models/``, and Ray leaves out
  what ``.gitignore`` lists, so the upload reads ``.gitignore`` itself (every line but the models
  folder's becomes an exclude) and tells Ray to skip it (``RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1``).
* ``cluster``: ship nothing and set nothing: the job uses the cluster's ``$CURATION_MODELS`` (the
  image, ``infra/Containerfile``, sets it to the models it trained at build time).
* an absolute path or URI-free path on the cluster's shared file system: ``CURATION_MODELS=PATH``.
* ``auto`` (the default): ``ship`` when the local models folder is complete and inside the working
  dir, else ``cluster``.

Ray's upload limit is its gRPC message size, 512 MiB (``ray_constants.GRPC_CPP_MAX_MESSAGE_SIZE``);
the four default models are about 64 MB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from curation.classifiers import models_dir as md

#: Ray's own limit on an uploaded package (ray._private.ray_constants.GRPC_CPP_MAX_MESSAGE_SIZE)
RAY_UPLOAD_LIMIT_BYTES = 512 * 1024 * 1024
#: leave room for the rest of the working dir
SHIP_LIMIT_BYTES = RAY_UPLOAD_LIMIT_BYTES // 2
IGNORE_GITIGNORE = "RAY_RUNTIME_ENV_IGNORE_GITIGNORE"


@dataclass
class JobModels:
    mode: str                 # ship | cluster | path
    note: str                 # one line for the user
    folder: str | None = None  # the local folder shipped, or the cluster path


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _gitignore_excludes(working_dir: Path, models_rel: str) -> list[str]:
    """The working dir's .gitignore lines as runtime-env excludes, minus the models folder's line."""
    gi = working_dir / ".gitignore"
    if not gi.is_file():
        return []
    out = []
    for line in gi.read_text().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.strip("/") == models_rel.strip("/"):
            continue
        out.append(s)
    return out


def choose(spec: str, working_dir: Path, pipeline_models: list[str]) -> JobModels:
    """Resolve ``--models SPEC`` (see the module doc) for a job that needs ``pipeline_models``."""
    from curation.cli import UserError

    local = md.resolve(None)
    have = md.present(local)
    missing = [w for w in pipeline_models if not have[w]]
    try:
        rel = local.relative_to(working_dir).as_posix()
    except ValueError:
        rel = None
    if spec == "auto":
        if not pipeline_models:
            return JobModels("cluster", "models: none needed by this pipeline")
        spec = "ship" if rel is not None and not missing else "cluster"
        if spec == "cluster":
            why = (f"{local} is outside --working-dir" if rel is None
                   else f"{local} lacks {', '.join(missing)}")
            return JobModels("cluster", f"models: not shipped ({why}); the job uses the cluster's $CURATION_MODELS "
                                        "or trains missing models on first use (--models ship|cluster|PATH)")
    if spec == "ship":
        if rel is None:
            raise UserError(f"--models ship: the models folder {local} is outside --working-dir {working_dir}; "
                            "copy it there or pass --models PATH (a folder the cluster has)")
        if missing:
            raise UserError(f"--models ship: {local} lacks {', '.join(missing)}; train them first: "
                            f"curate train-classifiers --models {local} --if-missing")
        size = folder_bytes(local)
        if size > SHIP_LIMIT_BYTES:
            raise UserError(f"--models ship: {local} holds {size / 1e6:,.0f} MB, more than the "
                            f"{SHIP_LIMIT_BYTES / 1e6:,.0f} MB this command uploads; put it on shared storage "
                            "and pass --models PATH")
        return JobModels("ship", f"models: shipping {rel}/ ({size / 1e6:,.0f} MB) with the job", rel)
    if spec == "cluster":
        return JobModels("cluster", "models: the cluster's $CURATION_MODELS (or trained on first use)")
    if not os.path.isabs(spec):
        raise UserError(f"--models must be auto, ship, cluster or an absolute path on the cluster (got {spec!r})")
    return JobModels("path", f"models: {spec} on the cluster", spec)


def apply(jm: JobModels, env: dict, working_dir: Path) -> dict:
    """The runtime env for ``jm``: env_vars.CURATION_MODELS and the excludes that ship (or not) the folder."""
    excludes = list(env.get("excludes") or [])
    env_vars = dict(env.get("env_vars") or {})
    if jm.mode == "ship":
        rel = jm.folder.strip("/")
        excludes = [e for e in excludes if e.strip("/") != rel]
        excludes += [e for e in _gitignore_excludes(working_dir, rel) if e not in excludes]
        excludes += [e for e in (".git", f"{rel}/.train.lock", f"{rel}/.tmp-*") if e not in excludes]
        env_vars["CURATION_MODELS"] = rel
    else:
        if "models/" not in excludes:
            excludes.append("models/")
        if jm.mode == "path":
            env_vars["CURATION_MODELS"] = jm.folder
    env["excludes"] = excludes
    env["env_vars"] = env_vars
    return env
