"""The token file: a flat array of little-endian unsigned integers, one file per input shard.

No header and no framing, like Megatron-LM's ``.bin`` (its ``.idx`` is our ``index.parquet``):
a document is ``(file, offset, length)`` in tokens, and a reader maps the file with
``numpy.memmap`` and slices it - no Python per token, no decoding, no tokenizer.

``uint16`` when every id fits (vocabulary of at most 65,536: the bundled 8,192-token BPE), which
halves the bytes read per token; ``uint32`` otherwise (Llama 3's 128,256). Megatron-LM makes the
same choice (``uint16`` below 65,500, else ``int32``).

A shard's file is written whole by the worker that applies the shard, through the run package's
atomic commit (:class:`curation.run.tokens.TokenLayout`), so it works on object stores and a retried
shard rewrites the same bytes. The run's manifest ``tokens`` section is the commit record: readers
read only the files it names (:class:`TokenFile`: a memory map on local disk, ranged reads elsewhere).
"""

from __future__ import annotations

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


def to_bytes(tokens: np.ndarray, dtype: np.dtype) -> bytes:
    """A token file's bytes (little-endian ``dtype``); ids outside the dtype's range are an error."""
    tokens = np.asarray(tokens)
    if tokens.size and (tokens.min() < 0 or tokens.max() > np.iinfo(dtype).max):
        raise ValueError(f"token ids out of range for {dtype_name(dtype)}: [{tokens.min()}, {tokens.max()}]")
    return tokens.astype(dtype, copy=False).tobytes()


class TokenFile:
    """A token file for reading, ``(fs, path)`` on any ``pyarrow.fs`` filesystem: on a local disk a
    read-only memory map (the page cache serves repeated reads); elsewhere (S3, GCS) the file's
    ``RandomAccessFile`` and one ranged ``read_at`` per slice, so a rank fetches only its windows."""

    def __init__(self, fs, path: str, dtype: np.dtype, where: str | None = None):
        import pyarrow.fs as pafs

        self.dtype = np.dtype(dtype)
        self.where = where or path
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            raise FileNotFoundError(f"token file missing: {self.where}")
        self._map: np.ndarray | None = None
        self._file = None
        if isinstance(fs, pafs.LocalFileSystem):
            self._map = np.memmap(path, dtype=self.dtype, mode="r") if info.size else np.zeros(0, self.dtype)
        else:
            self._file = fs.open_input_file(path)
        self.size = info.size // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size

    def read(self, offset: int, n: int) -> np.ndarray:
        """Tokens ``[offset, offset + n)`` (a view of the map on local disk, a fresh array otherwise)."""
        if offset < 0 or offset + n > self.size:
            raise ValueError(f"{self.where}: tokens [{offset}, {offset + n}) outside the file's {self.size}")
        if self._map is not None:
            return self._map[offset:offset + n]
        size = self.dtype.itemsize
        return np.frombuffer(self._file.read_at(n * size, offset * size), dtype=self.dtype)
