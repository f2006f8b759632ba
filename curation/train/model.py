"""A Llama 3-style decoder: RMSNorm, SwiGLU, RoPE (theta 500000), grouped-query attention.

Module names follow the Llama/torchtitan layout (``tok_embeddings``, ``layers.<i>.attention.wq``,
``feed_forward.w1`` ...) so the tensor-parallel plan in ``parallel.py`` can address them and
checkpoint keys stay stable. Attention heads are taken from the projections' local width, so the
same code runs unsharded and tensor-parallel (each TP rank holds ``n_heads / tp`` heads).

Attention backends: ``sdpa`` builds a boolean ``[b, 1, S, S]`` document-causal mask (works on CPU,
forward and backward); ``flex`` builds a FlexAttention ``BlockMask`` from the same document ids
(sparse: fully masked blocks are skipped) and runs a compiled kernel (CUDA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelArgs:
    dim: int = 256
    n_layers: int = 4
    n_heads: int = 8
    n_kv_heads: int = 4
    vocab_size: int = 4096
    multiple_of: int = 256
    ffn_dim_multiplier: float | None = None
    norm_eps: float = 1e-5
    rope_theta: float = 500000.0
    max_seq_len: int = 8192

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def ffn_hidden(self) -> int:
        h = int(2 * 4 * self.dim / 3)
        if self.ffn_dim_multiplier is not None:
            h = int(self.ffn_dim_multiplier * h)
        return self.multiple_of * ((h + self.multiple_of - 1) // self.multiple_of)


# Shapes. "1B" and "8B" are the Llama 3.2 1B and Llama 3 8B shapes (untied embeddings here);
# their vocabulary comes from the tokenizer (Llama 3's own is 128256).
FLAVOURS: dict[str, ModelArgs] = {
    "tiny": ModelArgs(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, multiple_of=32),
    "debug": ModelArgs(dim=256, n_layers=4, n_heads=8, n_kv_heads=4, multiple_of=256),
    "1B": ModelArgs(dim=2048, n_layers=16, n_heads=32, n_kv_heads=8, ffn_dim_multiplier=1.5, multiple_of=256),
    "8B": ModelArgs(dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, ffn_dim_multiplier=1.3, multiple_of=1024),
}


def model_args(flavour: str, vocab_size: int, max_seq_len: int, pad_to: int = 128) -> ModelArgs:
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; choose from {sorted(FLAVOURS)}")
    vocab = pad_to * ((vocab_size + pad_to - 1) // pad_to)  # even shards under TP, aligned matmuls
    return replace(FLAVOURS[flavour], vocab_size=vocab, max_seq_len=max(max_seq_len, 1))


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return y.type_as(x) * self.weight

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)


def rope_tables(head_dim: int, max_seq_len: int, theta: float, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    ang = torch.outer(torch.arange(max_seq_len, device=device, dtype=torch.float32), inv)
    return ang.cos(), ang.sin()  # [max_seq_len, head_dim / 2]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate interleaved pairs (x[2i], x[2i+1]) of x: [b, s, h, d] by position-dependent angles."""
    s = x.shape[1]
    xf = x.float().unflatten(-1, (-1, 2))
    x0, x1 = xf[..., 0], xf[..., 1]
    c, si = cos[:s].view(1, s, 1, -1), sin[:s].view(1, s, 1, -1)
    out = torch.stack((x0 * c - x1 * si, x0 * si + x1 * c), dim=-1).flatten(-2)
    return out.type_as(x)


_compiled_flex = None


def _flex(q, k, v, block_mask):
    global _compiled_flex
    from torch.nn.attention.flex_attention import flex_attention

    if _compiled_flex is None:
        _compiled_flex = torch.compile(flex_attention, dynamic=False)
    return _compiled_flex(q, k, v, block_mask=block_mask, enable_gqa=True)


class Attention(nn.Module):
    def __init__(self, a: ModelArgs, backend: str):
        super().__init__()
        self.head_dim = a.head_dim
        self.backend = backend
        self.wq = nn.Linear(a.dim, a.n_heads * a.head_dim, bias=False)
        self.wk = nn.Linear(a.dim, a.n_kv_heads * a.head_dim, bias=False)
        self.wv = nn.Linear(a.dim, a.n_kv_heads * a.head_dim, bias=False)
        self.wo = nn.Linear(a.n_heads * a.head_dim, a.dim, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s = x.shape[0], x.shape[1]
        q = self.wq(x).view(b, s, -1, self.head_dim)  # -1: the heads local to this TP rank
        k = self.wk(x).view(b, s, -1, self.head_dim)
        v = self.wv(x).view(b, s, -1, self.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [b, h, s, d]
        if self.backend == "flex":
            o = _flex(q, k, v, mask)
        else:
            rep = q.shape[1] // k.shape[1]
            if rep > 1:
                k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
            if mask is None:
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.wo(o.transpose(1, 2).reshape(b, s, -1))


class FeedForward(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.w1 = nn.Linear(a.dim, a.ffn_hidden, bias=False)
        self.w2 = nn.Linear(a.ffn_hidden, a.dim, bias=False)
        self.w3 = nn.Linear(a.dim, a.ffn_hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, layer_id: int, a: ModelArgs, backend: str):
        super().__init__()
        self.layer_id = layer_id
        self.n_layers = a.n_layers
        self.attention_norm = RMSNorm(a.dim, a.norm_eps)
        self.attention = Attention(a, backend)
        self.ffn_norm = RMSNorm(a.dim, a.norm_eps)
        self.feed_forward = FeedForward(a)

    def forward(self, x, cos, sin, mask):
        h = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return h + self.feed_forward(self.ffn_norm(h))

    def init_weights(self, std: float = 0.02) -> None:
        out_std = std / math.sqrt(2 * (self.layer_id + 1))  # depth-scaled output projections
        for lin in (self.attention.wq, self.attention.wk, self.attention.wv, self.feed_forward.w1, self.feed_forward.w3):
            nn.init.trunc_normal_(lin.weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
        for lin in (self.attention.wo, self.feed_forward.w2):
            nn.init.trunc_normal_(lin.weight, mean=0.0, std=out_std, a=-3 * out_std, b=3 * out_std)
        self.attention_norm.reset_parameters()
        self.ffn_norm.reset_parameters()


class Transformer(nn.Module):
    def __init__(self, a: ModelArgs, attention: str = "sdpa", doc_masking: bool = True):
        super().__init__()
        if attention not in ("sdpa", "flex"):
            raise ValueError(f"attention backend must be sdpa or flex, not {attention!r}")
        self.args = a
        self.attention_backend = attention
        self.doc_masking = doc_masking
        self.tok_embeddings = nn.Embedding(a.vocab_size, a.dim)
        self.layers = nn.ModuleDict({str(i): TransformerBlock(i, a, attention) for i in range(a.n_layers)})
        self.norm = RMSNorm(a.dim, a.norm_eps)
        self.output = nn.Linear(a.dim, a.vocab_size, bias=False)
        cos, sin = rope_tables(a.head_dim, a.max_seq_len, a.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    @torch.no_grad()
    def init_weights(self, buffer_device: torch.device | None = None) -> None:
        a = self.args
        if buffer_device is not None:  # after meta-device construction + to_empty
            self.rope_cos, self.rope_sin = rope_tables(a.head_dim, a.max_seq_len, a.rope_theta, buffer_device)
        nn.init.normal_(self.tok_embeddings.weight, std=1.0)
        for layer in self.layers.values():
            layer.init_weights()
        self.norm.reset_parameters()
        final_std = a.dim**-0.5
        nn.init.trunc_normal_(self.output.weight, mean=0.0, std=final_std, a=-3 * final_std, b=3 * final_std)

    def build_mask(self, doc_ids: torch.Tensor | None, seq_len: int):
        """The attention mask for this batch: None (plain causal), a bool tensor, or a BlockMask."""
        if self.attention_backend == "flex":
            from torch.nn.attention.flex_attention import create_block_mask

            if doc_ids is None or not self.doc_masking:

                def mask_mod(b, h, q, kv):
                    return q >= kv

                bsz = None
            else:
                docs = doc_ids

                def mask_mod(b, h, q, kv):
                    return (q >= kv) & (docs[b, q] == docs[b, kv])

                bsz = docs.shape[0]
            dev = self.rope_cos.device
            # compiled mask construction on CUDA (fast); eager elsewhere (compiling costs more than it saves)
            return create_block_mask(mask_mod, bsz, None, seq_len, seq_len, device=dev, _compile=dev.type == "cuda")
        if doc_ids is None or not self.doc_masking:
            return None
        causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=doc_ids.device).tril_()
        same = doc_ids[:, :, None] == doc_ids[:, None, :]
        return (same & causal).unsqueeze(1)  # [b, 1, S, S]

    def forward(self, tokens: torch.Tensor, doc_ids: torch.Tensor | None = None) -> torch.Tensor:
        seq_len = tokens.shape[1]
        mask = self.build_mask(doc_ids, seq_len)
        h = self.tok_embeddings(tokens)
        for layer in self.layers.values():
            h = layer(h, self.rope_cos, self.rope_sin, mask)
        h = self.norm(h)
        return self.output(h)


def count_params(model: nn.Module) -> tuple[int, int]:
    """(all parameters, parameters without the token embedding), counted on the unsharded shapes."""
    total = emb = 0
    for name, p in model.named_parameters():
        n = p.numel()  # a DTensor reports its global size
        total += n
        if "tok_embeddings" in name:
            emb += n
    return total, total - emb
