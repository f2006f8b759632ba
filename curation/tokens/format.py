"""The token file: a flat array of little-endian unsigned integers, one file per input shard.

No header and no framing, like Megatron-LM's ``.bin`` (its ``.idx`` is our ``index.parquet``):
a document is ``(file, offset, length)`` in tokens, and a reader maps the file with
``numpy.memmap`` and slices it - no Python per token, no decoding, no tokenizer.

``uint16`` when every id fits (vocabulary of at most 65,536: the bundled 8,192-token BPE), which
halves the bytes read per token; ``uint32`` otherwise (Llama 3's 128,256). Megatron-LM makes the
same choice (``uint16`` below 65,500, else ``int32``).

Writes are positioned (``pwrite`` at an offset fixed before the write), so a retried writer
rewrites the same bytes at the same places: a file is whole once every document of its shard was
written once, whatever failed in between. The run's manifest ``tokens`` section is the commit
record: readers read only the files it names.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

UINT16_MAX_VOCAB = 1 << 16


def dtype_for(vocab_size: int) -> np.dtype:
    """The smallest little-endian dtype that holds every token id of a vocabulary."""
    if vocab_size <= 0:
        raise ValueError(f"vocabulary size must be > 0, got {vocab_size}")
    return np.dtype("<u2") if vocab_size <= UINT16_MAX_VOCAB else np.dtype("<u4")


def dtype_name(dtype: np.dtype) -> str:
    return np.dtype(dtype).newbyteorder("=").name  # "uint16" / "uint32"


def parse_dtype(name: str) -> np.dtype:
    if name not in ("uint16", "uint32"):
        raise ValueError(f"unknown token dtype {name!r} (uint16 or uint32)")
    return np.dtype(name).newbyteorder("<")


def write_at(path: str | Path, token_offset: int, tokens: np.ndarray, dtype: np.dtype) -> None:
    """Write ``tokens`` at token position ``token_offset`` of ``path`` (created when missing)."""
    tokens = np.asarray(tokens)
    if tokens.size and (tokens.min() < 0 or tokens.max() > np.iinfo(dtype).max):
        raise ValueError(f"token ids out of range for {dtype_name(dtype)}: [{tokens.min()}, {tokens.max()}]")
    data = tokens.astype(dtype, copy=False).tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        pos, view = int(token_offset) * np.dtype(dtype).itemsize, memoryview(data)
        while view:
            n = os.pwrite(fd, view, pos)
            view, pos = view[n:], pos + n
    finally:
        os.close(fd)


def open_tokens(path: str | Path, dtype: np.dtype) -> np.ndarray:
    """A read-only memory map of a token file (an empty file gives an empty array)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"token file missing: {path}")
    if path.stat().st_size == 0:
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r")
