"""Time one training step of a model flavour on synthetic packed data and report tokens/s and MFU.

    python bench/train_step.py --flavour 1B --seq-len 4096 --batch 2 --compile          # one GPU, bf16
    torchrun --nproc-per-node 8 bench/train_step.py --flavour 8B --tp 2 --compile        # several
    python bench/train_step.py --flavour debug --seq-len 256 --batch 8 --device cpu      # CPU, fp32
    python bench/train_step.py --flavour 1B --seq-len 4096 --batch 2 --compile \
        --manifest runs/sample/manifest.json                                             # real token shards

Same model, parallelism (TP/SP then FSDP2, bf16 params / fp32 reduce) and step (forward,
cross-entropy, backward, global-norm clipping, AdamW) as the trainer, without the data pipeline:
documents of random lengths are packed so the document-causal mask is exercised. With
``--manifest`` the batches come from the trainer's loader on the run's token shards instead
(``tokens/``, docs/tokens.md; each rank reads its own slice; the vocabulary is the run's unless
``--vocab`` is given), and the timed step includes the loader call. MFU uses the formula in
``curation/train/metrics.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from curation.train.metrics import flops_per_token, peak_flops
from curation.train.model import Transformer, count_params, model_args
from curation.train.parallel import clip_grad_norm_, init_distributed, parallelize, resolve_device


def synthetic_docs(batch: int, seq_len: int, mean_doc: int, gen: torch.Generator) -> torch.Tensor:
    docs = torch.empty(batch, seq_len, dtype=torch.long)
    for b in range(batch):
        pos, d = 0, 0
        while pos < seq_len:
            n = int(torch.randint(mean_doc // 2, mean_doc * 3 // 2 + 1, (1,), generator=gen))
            docs[b, pos : pos + n] = d
            pos, d = pos + n, d + 1
    return docs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--flavour", default="1B")
    p.add_argument("--vocab", type=int, default=None, help="vocabulary size (default: Llama 3's 128256, or the run's with --manifest)")
    p.add_argument("--manifest", help="a run's manifest.json: real batches from its token shards (the trainer's loader)")
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--batch", type=int, default=2, help="sequences per data-parallel rank")
    p.add_argument("--mean-doc", type=int, default=1024, help="mean packed document length (tokens)")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=4, help="untimed first steps (compilation, allocator)")
    p.add_argument("--tp", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    p.add_argument("--attention", default="auto", choices=("auto", "sdpa", "flex"))
    p.add_argument("--compile", action="store_true")
    p.add_argument("--ac", action="store_true", help="activation checkpointing per block")
    p.add_argument("--no-doc-mask", action="store_true")
    a = p.parse_args()

    device = resolve_device(a.device)
    d = init_distributed(-1, a.tp, device)
    bf16 = a.precision == "bf16" or (a.precision == "auto" and device.type == "cuda")
    backend = a.attention if a.attention != "auto" else ("flex" if device.type == "cuda" else "sdpa")
    loader = None
    vocab = a.vocab or 128256
    if a.manifest:
        from curation.train.data import Manifest, TrainLoader, token_section

        m = Manifest(a.manifest)
        vocab = a.vocab or int(token_section(m, "tokens")["vocab_size"])
        loader = TrainLoader(m, None, a.seq_len, a.batch * d.dp, d.dp_rank, d.dp, 1, ("mix",), "tokens")
    margs = model_args(a.flavour, vocab, a.seq_len)
    torch.manual_seed(0)
    with torch.device("meta"):
        model = Transformer(margs, backend, not a.no_doc_mask)
    n_params, n_non_emb = count_params(model)
    model = parallelize(model, d, bf16, compile=a.compile, ac=a.ac)
    model.to_empty(device=device)
    model.init_weights(buffer_device=device)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1, foreach=True)

    gen = torch.Generator().manual_seed(d.dp_rank)
    times = []
    for step in range(a.warmup + a.steps):
        if loader is None:
            tokens = torch.randint(0, margs.vocab_size, (a.batch, a.seq_len + 1), generator=gen)
            docs = synthetic_docs(a.batch, a.seq_len, a.mean_doc, gen)
            x, y, docs = tokens[:, :-1].to(device), tokens[:, 1:].to(device), docs.to(device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        else:  # the loader is part of the timed step
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            (b,) = loader.next_batches()
            x, y, docs = (b.inputs.to(device, non_blocking=True), b.labels.to(device, non_blocking=True),
                          b.doc_ids.to(device, non_blocking=True))
        logits = model(x, docs)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        loss.backward()
        clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)

    dt = statistics.median(times)
    tokens_per_step = a.batch * a.seq_len * d.dp
    tps = tokens_per_step / dt
    fpt = flops_per_token(n_non_emb, margs.n_layers, margs.n_heads, margs.head_dim, a.seq_len)
    peak = peak_flops(device)
    res = {
        "flavour": a.flavour,
        "params": n_params,
        "non_embedding_params": n_non_emb,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "world": d.world_size,
        "dp": d.dp,
        "tp": d.tp,
        "precision": "bf16" if bf16 else "fp32",
        "attention": backend,
        "data": a.manifest or "synthetic",
        "vocab": margs.vocab_size,
        "compile": a.compile,
        "ac": a.ac,
        "seq_len": a.seq_len,
        "batch_per_rank": a.batch,
        "step_time_s": dt,
        "tokens_per_s": tps,
        "tflops_per_device": tps * fpt / d.world_size / 1e12,
        "mfu": tps * fpt / (d.world_size * peak) if peak else None,
        "max_mem_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
        "loss": float(loss.detach()),
    }
    if d.is_main:
        print(json.dumps(res, indent=2))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
