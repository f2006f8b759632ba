"""Parallelism: a 2-D DeviceMesh (dp x tp); tensor + sequence parallel first, then FSDP2.

Order (as in torchtitan): TP/SP is applied to every block with column-wise / row-wise plans on
the ``tp`` sub-mesh; then FSDP2 ``fully_shard`` wraps each block and the root on the ``dp``
sub-mesh, so every parameter ends up a DTensor on the 2-D mesh. gloo backs CPU runs, NCCL GPU runs.

Gradient clipping under this layout must see the whole model: each rank holds shards (FSDP) of
slices (TP) of the gradients, so the norm is computed on DTensors and turned into one full
tensor over the mesh before the scale is applied (``clip_grad_norm_``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class Dist:
    world_size: int = 1
    rank: int = 0
    dp: int = 1
    tp: int = 1
    dp_rank: int = 0
    mesh: object = None  # DeviceMesh or None
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # this process group was started here (and should be destroyed here)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def init_distributed(dp: int, tp: int, device: torch.device) -> Dist:
    """Start the process group from torchrun-style env vars (if world size > 1) and build the mesh."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    if dp == -1:
        if world % tp:
            raise ValueError(f"world size {world} is not divisible by tp={tp}")
        dp = world // tp
    if dp * tp != world:
        raise ValueError(f"dp ({dp}) x tp ({tp}) must equal the world size ({world})")
    if world == 1:
        return Dist(device=device)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh(device.type, (dp, tp), mesh_dim_names=("dp", "tp"))
    return Dist(world, rank, dp, tp, mesh["dp"].get_local_rank(), mesh, device, owns)


def apply_tp(model: nn.Module, tp_mesh) -> None:
    """Column/row-wise plans with sequence parallel around the norms (activations Shard(1) between blocks)."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        PrepareModuleInput,
        RowwiseParallel,
        SequenceParallel,
        parallelize_module,
    )

    a = model.args
    tp = tp_mesh.size()
    for what, n in (("n_heads", a.n_heads), ("n_kv_heads", a.n_kv_heads), ("ffn hidden", a.ffn_hidden), ("vocab", a.vocab_size)):
        if n % tp:
            raise ValueError(f"tp={tp} does not divide {what}={n}")
    parallelize_module(
        model,
        tp_mesh,
        {
            "tok_embeddings": RowwiseParallel(input_layouts=Replicate(), output_layouts=Shard(1)),
            "norm": SequenceParallel(),
            "output": ColwiseParallel(input_layouts=Shard(1), output_layouts=Replicate()),
        },
    )
    for block in model.layers.values():
        parallelize_module(
            block,
            tp_mesh,
            {
                "attention_norm": SequenceParallel(),
                "attention": PrepareModuleInput(
                    input_layouts=(Shard(1), None, None, None),
                    desired_input_layouts=(Replicate(), None, None, None),
                ),
                "attention.wq": ColwiseParallel(),
                "attention.wk": ColwiseParallel(),
                "attention.wv": ColwiseParallel(),
                "attention.wo": RowwiseParallel(output_layouts=Shard(1)),
                "ffn_norm": SequenceParallel(),
                "feed_forward": PrepareModuleInput(input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),)),
                "feed_forward.w1": ColwiseParallel(),
                "feed_forward.w2": RowwiseParallel(output_layouts=Shard(1)),
                "feed_forward.w3": ColwiseParallel(),
            },
        )


def apply_fsdp(model: nn.Module, dp_mesh, bf16: bool) -> None:
    """fully_shard each block, then the root (embeddings, final norm, output)."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else MixedPrecisionPolicy()
    n = len(model.layers)
    for i, block in enumerate(model.layers.values()):
        # the last block's parameters are needed again right away by the root's backward
        fully_shard(block, mesh=dp_mesh, mp_policy=mp, reshard_after_forward=i < n - 1)
    fully_shard(model, mesh=dp_mesh, mp_policy=mp)


def apply_ac(model: nn.Module) -> None:
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

    for k, block in list(model.layers.items()):
        model.layers[k] = checkpoint_wrapper(block, preserve_rng_state=False)


def apply_compile(model: nn.Module) -> None:
    """Compile each block in place (Module.compile keeps parameter names free of ``_orig_mod``)."""
    for block in model.layers.values():
        block.compile()


def parallelize(model: nn.Module, d: Dist, bf16: bool, compile: bool = False, ac: bool = False) -> nn.Module:
    if d.tp > 1:
        apply_tp(model, d.mesh["tp"])
    if ac:
        apply_ac(model)
    if compile:
        apply_compile(model)
    if d.mesh is not None and (d.dp > 1 or bf16):
        apply_fsdp(model, d.mesh["dp"], bf16)
    elif d.mesh is None and bf16:
        # one process: FSDP2 on a 1-rank mesh gives the same bf16-params / fp32-master layout
        if not dist.is_initialized():
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
            dist.init_process_group("nccl" if d.device.type == "cuda" else "gloo", rank=0, world_size=1)
            d.owns_group = True
        from torch.distributed.device_mesh import init_device_mesh

        d.mesh = init_device_mesh(d.device.type, (1, 1), mesh_dim_names=("dp", "tp"))
        apply_fsdp(model, d.mesh["dp"], bf16)
    return model


@torch.no_grad()
def clip_grad_norm_(params: list[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Clip by the global L2 norm. With DTensor grads (FSDP/TP), the norm of the local pieces is a
    Partial DTensor; ``full_tensor()`` reduces it over every mesh dimension, so all ranks see the
    same total and scale by the same factor."""
    from torch.distributed.tensor import DTensor

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    total = torch.nn.utils.get_total_norm(grads, norm_type=2.0, foreach=True)
    if isinstance(total, DTensor):
        total = total.full_tensor()
    if max_norm > 0:
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, total, foreach=True)
    return total
