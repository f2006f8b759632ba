"""Distributed checkpoints (torch.distributed.checkpoint) and Polyak averaging.

A checkpoint is a folder ``OUT/checkpoints/step-NNNNNNNN/`` written by every rank with DCP, holding
``model.*`` (parameters by fully qualified name, sharding-independent), ``optimizer.*`` (AdamW
state by parameter name) and ``train.*`` (step and the data loader's position; the schedule is a
function of the step). Rank 0 writes ``meta.json`` last, after all ranks finished, into a
temporary folder that is then renamed: a folder named ``step-*`` with ``meta.json`` is complete.

Because DCP stores global tensors with their shard offsets, a checkpoint saved under one layout
(say dp2 x tp2) loads under another (one process, dp=2, ...): each rank reads the pieces it owns.

``average_checkpoints`` averages the model weights of several checkpoints (Llama 3 averages the
last checkpoints of annealing: Polyak averaging) and writes a model-only checkpoint that the
trainer loads with ``--init-from``; its CLI (``curate average-checkpoints``) is
:mod:`curation.train.average`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.stateful import Stateful

PREFIX = "step-"


class ModelState(Stateful):
    def __init__(self, model):
        self.model = model

    def state_dict(self):
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return get_model_state_dict(self.model)

    def load_state_dict(self, sd):
        from torch.distributed.checkpoint.state_dict import set_model_state_dict

        set_model_state_dict(self.model, sd)


class OptimizerState(Stateful):
    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def state_dict(self):
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        return get_optimizer_state_dict(self.model, self.optimizer)

    def load_state_dict(self, sd):
        from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

        set_optimizer_state_dict(self.model, self.optimizer, sd)


@contextlib.contextmanager
def _quiet():
    """In one process DCP warns that it assumes one process; that is the intent here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def _barrier():
    if dist.is_initialized():
        dist.barrier()


def step_dir(root: Path, step: int) -> Path:
    return Path(root) / f"{PREFIX}{step:08d}"


def list_checkpoints(root: str | Path) -> list[Path]:
    """Complete checkpoints under ``root`` (those with meta.json), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / "meta.json").is_file()]
    return sorted(out, key=lambda p: int(p.name[len(PREFIX) :]))


def latest_checkpoint(root: str | Path) -> Path | None:
    c = list_checkpoints(root)
    return c[-1] if c else None


def save(root: str | Path, step: int, states: dict, meta: dict, is_main: bool, keep: int = 0) -> Path:
    """Save ``states`` (name -> Stateful or dict) as ``root/step-N``; collective over all ranks."""
    final = step_dir(root, step)
    tmp = final.with_name(final.name + ".tmp")
    if is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    _barrier()
    with _quiet():
        dcp.save(states, checkpoint_id=str(tmp), no_dist=not dist.is_initialized())
    _barrier()
    if is_main:
        (tmp / "meta.json").write_text(json.dumps({"step": step, **meta}, indent=2, sort_keys=True))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        if keep > 0:
            for old in list_checkpoints(root)[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    _barrier()
    return final


def load(path: str | Path, states: dict) -> None:
    """Load into ``states`` in place (Stateful objects get ``load_state_dict``); collective."""
    path = Path(path)
    if not (path / "meta.json").is_file():
        raise FileNotFoundError(f"not a complete checkpoint (no meta.json): {path}")
    with _quiet():
        dcp.load(states, checkpoint_id=str(path), no_dist=not dist.is_initialized())


def load_model_weights(path: str | Path, model) -> None:
    """Load only the model weights of a (full or averaged) checkpoint into a possibly sharded model."""
    load(path, {"model": ModelState(model)})


# ----------------------------------------------------------------------------------------------
# Polyak averaging


def _model_tensor_shapes(path: Path) -> dict[str, tuple[torch.Size, torch.dtype]]:
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    md = dcp.FileSystemReader(str(path)).read_metadata()
    out = {}
    for k, v in md.state_dict_metadata.items():
        if k.startswith("model.") and isinstance(v, TensorStorageMetadata):
            out[k[len("model.") :]] = (v.size, v.properties.dtype)
    if not out:
        raise ValueError(f"{path}: no model weights in this checkpoint")
    return out


def read_model_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The full (unsharded) model weights of a checkpoint, on CPU, in one process."""
    path = Path(path)
    shapes = _model_tensor_shapes(path)
    sd = {k: torch.empty(size, dtype=dtype) for k, (size, dtype) in shapes.items()}
    with _quiet():
        dcp.load({"model": sd}, checkpoint_id=str(path), no_dist=True)
    return sd


def average_checkpoints(paths: list[str | Path], out: str | Path) -> Path:
    """Average model weights (fp32 accumulation) of ``paths`` and save a model-only checkpoint."""
    if not paths:
        raise ValueError("no checkpoints to average")
    paths = [Path(p) for p in paths]
    acc: dict[str, torch.Tensor] | None = None
    dtypes: dict[str, torch.dtype] = {}
    for p in paths:
        sd = read_model_weights(p)
        if acc is None:
            acc = {k: v.double() for k, v in sd.items()}
            dtypes = {k: v.dtype for k, v in sd.items()}
        else:
            if sd.keys() != acc.keys():
                raise ValueError(f"{p}: model keys differ from {paths[0]}")
            for k, v in sd.items():
                if v.shape != acc[k].shape:
                    raise ValueError(f"{p}: {k} has shape {tuple(v.shape)}, expected {tuple(acc[k].shape)}")
                acc[k] += v.double()
    avg = {k: (v / len(paths)).to(dtypes[k]) for k, v in acc.items()}
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with _quiet():
        dcp.save({"model": avg}, checkpoint_id=str(tmp), no_dist=True)
    metas = [json.loads((p / "meta.json").read_text()) for p in paths if (p / "meta.json").is_file()]
    meta = {"averaged_from": [str(p) for p in paths], "steps": [m.get("step") for m in metas]}
    if metas and "config" in metas[-1]:
        meta["config"] = metas[-1]["config"]
    meta["step"] = metas[-1].get("step") if metas else None
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out

