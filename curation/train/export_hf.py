"""``curate export-hf``: a trained checkpoint as a Hugging Face Llama folder.

Writes ``config.json`` (``LlamaForCausalLM``), ``model.safetensors`` and the tokenizer
(``tokenizer.json``, ``tokenizer_config.json``), the format that
``transformers``, vLLM and lm-eval-harness load. Works for a training run's OUT folder (its newest
checkpoint), one ``step-*`` checkpoint, or a ``curate average-checkpoints`` output.

The project's model rotates interleaved pairs ``(x[2i], x[2i+1])`` (Llama's original RoPE);
``transformers`` rotates halves (``x[i]``, ``x[i + d/2]``). The two agree when the rows of each
head of ``wq`` and ``wk`` are permuted from pair order to half order: Hugging Face's own
``convert_llama_weights_to_hf.py`` does the same (``permute``). Everything else is a renaming.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

#: our parameter name -> Hugging Face Llama's
_NAMES = [
    (r"^tok_embeddings\.weight$", "model.embed_tokens.weight"),
    (r"^norm\.weight$", "model.norm.weight"),
    (r"^output\.weight$", "lm_head.weight"),
    (r"^layers\.(\d+)\.attention\.wq\.weight$", r"model.layers.\1.self_attn.q_proj.weight"),
    (r"^layers\.(\d+)\.attention\.wk\.weight$", r"model.layers.\1.self_attn.k_proj.weight"),
    (r"^layers\.(\d+)\.attention\.wv\.weight$", r"model.layers.\1.self_attn.v_proj.weight"),
    (r"^layers\.(\d+)\.attention\.wo\.weight$", r"model.layers.\1.self_attn.o_proj.weight"),
    (r"^layers\.(\d+)\.feed_forward\.w1\.weight$", r"model.layers.\1.mlp.gate_proj.weight"),
    (r"^layers\.(\d+)\.feed_forward\.w2\.weight$", r"model.layers.\1.mlp.down_proj.weight"),
    (r"^layers\.(\d+)\.feed_forward\.w3\.weight$", r"model.layers.\1.mlp.up_proj.weight"),
    (r"^layers\.(\d+)\.attention_norm\.weight$", r"model.layers.\1.input_layernorm.weight"),
    (r"^layers\.(\d+)\.ffn_norm\.weight$", r"model.layers.\1.post_attention_layernorm.weight"),
]
#: wrappers that may prefix a name (torch.compile, activation checkpointing)
_WRAPPERS = ("_orig_mod.", "_checkpoint_wrapped_module.")


class ExportError(ValueError):
    """Not a checkpoint, or no tokenizer to go with it: one line."""


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder (with meta.json) from a run's OUT, its checkpoints/ or the folder itself."""
    from .checkpoint import latest_checkpoint

    p = Path(path)
    if (p / "meta.json").is_file():
        return p
    for root in (p / "checkpoints", p):
        found = latest_checkpoint(root)
        if found is not None:
            return found
    raise ExportError(f"{p}: no checkpoint (a training OUT folder, a step-* folder or an averaged checkpoint)")


def find_tokenizer(ckpt: Path, meta: dict, given: str | None) -> Path:
    """--tokenizer, else the tokenizer.json the trainer copied to its OUT folder."""
    if given:
        return Path(given)
    outs = [ckpt.parent.parent, ckpt.parent] + [Path(a).parent.parent for a in meta.get("averaged_from", [])]
    cfg_out = (meta.get("config") or {}).get("out")
    if cfg_out:
        outs.append(Path(cfg_out))
    for o in outs:
        if (o / "tokenizer.json").is_file():
            return o / "tokenizer.json"
    raise ExportError(f"{ckpt}: no tokenizer.json in the training folder; give --tokenizer")


def permute_rope(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Rows of each head from interleaved pair order (0, 1, 2, 3, ...) to half order (0, 2, ..., 1, 3, ...)."""
    out_dim, in_dim = w.shape
    return w.view(n_heads, out_dim // n_heads // 2, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def hf_name(name: str) -> str:
    for w in _WRAPPERS:
        name = name.replace(w, "")
    for pat, rep in _NAMES:
        if re.match(pat, name):
            return re.sub(pat, rep, name)
    raise ExportError(f"unknown parameter {name!r}: not a curation.train Transformer")


def convert(weights: dict[str, torch.Tensor], n_heads: int, n_kv_heads: int) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in weights.items():
        name = hf_name(k)
        v = v.detach().to(torch.float32).contiguous()
        if name.endswith("q_proj.weight"):
            v = permute_rope(v, n_heads)
        elif name.endswith("k_proj.weight"):
            v = permute_rope(v, n_kv_heads)
        out[name] = v.contiguous()
    return out


def hf_config(args, bos_id: int | None, eos_id: int | None) -> dict:
    """``config.json`` of ``transformers.LlamaConfig`` for these model arguments."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": args.vocab_size, "hidden_size": args.dim, "intermediate_size": args.ffn_hidden,
        "num_hidden_layers": args.n_layers, "num_attention_heads": args.n_heads,
        "num_key_value_heads": args.n_kv_heads, "head_dim": args.head_dim, "hidden_act": "silu",
        "max_position_embeddings": args.max_seq_len, "rms_norm_eps": args.norm_eps,
        "rope_theta": args.rope_theta, "rope_scaling": None, "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": False, "bos_token_id": bos_id, "eos_token_id": eos_id,
        "torch_dtype": "float32", "initializer_range": 0.02, "use_cache": True,
    }


def model_args_of(weights: dict[str, torch.Tensor], meta: dict):
    """The checkpoint's model shape: its flavour (meta.json's config) with the vocabulary of its weights."""
    from .model import FLAVOURS, model_args

    cfg = meta.get("config") or {}
    flavour = cfg.get("flavour", "debug")
    if flavour not in FLAVOURS:
        raise ExportError(f"unknown flavour {flavour!r} in the checkpoint's meta.json")
    emb = next(v for k, v in weights.items() if k.endswith("tok_embeddings.weight"))
    a = model_args(flavour, int(emb.shape[0]), int(cfg.get("seq_len") or 2048), pad_to=1)
    if emb.shape[1] != a.dim:
        raise ExportError(f"the weights' width {emb.shape[1]} is not flavour {flavour}'s ({a.dim})")
    return a


def write_tokenizer(tok_path: Path, out: Path, max_len: int) -> tuple[int | None, int | None]:
    from transformers import PreTrainedTokenizerFast

    from curation.tokenizer import load_tokenizer

    ours = load_tokenizer(tok_path)
    name = lambda i: ours.backend.id_to_token(i) if i is not None else None  # noqa: E731
    hf = PreTrainedTokenizerFast(tokenizer_object=ours.backend, bos_token=name(ours.bos_id),
                                 eos_token=name(ours.eos_id), model_max_length=max_len)
    hf.save_pretrained(str(out))
    return ours.bos_id, ours.eos_id


def export(source: str | Path, out: str | Path, tokenizer: str | None = None) -> dict:
    """Write the Hugging Face folder; returns a summary (paths, shapes, parameters)."""
    from safetensors.torch import save_file

    from .checkpoint import read_model_weights

    ckpt = find_checkpoint(source)
    meta = json.loads((ckpt / "meta.json").read_text())
    weights = read_model_weights(ckpt)
    args = model_args_of(weights, meta)
    tok = find_tokenizer(ckpt, meta, tokenizer)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bos, eos = write_tokenizer(tok, out, args.max_seq_len)
    hf = convert(weights, args.n_heads, args.n_kv_heads)
    save_file(hf, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(args, bos, eos), indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(
        {"bos_token_id": bos, "eos_token_id": eos, "do_sample": False}, indent=2) + "\n")
    return {"checkpoint": str(ckpt), "step": meta.get("step"), "tokenizer": str(tok), "out": str(out),
            "parameters": int(sum(v.numel() for v in hf.values())), "vocab_size": args.vocab_size}
