"""Check a run's token shards before the first step (token path): a corrupted index or file must
stop the trainer with one line naming the file and the row, not train on garbage.

For every phase the trainer will read (``mix``, and ``anneal`` when it anneals), at start-up:

* every token file the manifest lists: its size is a whole number of tokens (``uint16``: even),
  and that number is the manifest's;
* every token id is below the vocabulary size (an id of 0xFFFF with 8,192 tokens would index past
  the embedding);
* every index part: its rows and tokens are the manifest's, and every row's ``(file, offset,
  length)`` lies inside its file, starts with BOS (when the tokenizer has one) and ends with EOS -
  so lengths shifted between rows (the part's sum kept) or offsets moved are caught.

Cost: one pass over the token files (a memory map on local disk, ranged reads elsewhere) and two
token lookups per index row; 0.08 s per GB of tokens from the page cache (2-core VM), disk speed otherwise.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from curation.run.layout import RunLayout
from curation.run.tokens import TokenLayout
from curation.tokens.format import TokenFile, parse_dtype

#: tokens read at a time while scanning a file for ids outside the vocabulary
SCAN_TOKENS = 1 << 24


class DataError(ValueError):
    """The token shards of a run do not match their manifest; the message names file and row."""


def check_token_phases(run, section: dict, phases: tuple[str, ...]) -> None:
    """``run``: the run folder (a ``RunLayout``, a local path or a URI); raises :class:`DataError`."""
    layout = TokenLayout(run if isinstance(run, RunLayout) else RunLayout(run))
    try:
        dtype = parse_dtype(section.get("dtype", ""))
        vocab = int(section["vocab_size"])
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"the manifest's tokens section is unusable: {e}") from None
    bos, eos = section.get("bos_id"), section.get("eos_id")
    for phase in phases:
        part = section.get(phase) or {}
        if part.get("index"):
            files = _check_files(layout, part.get("files", []), dtype, vocab)
            _check_index(layout, part["index"], files, bos, eos)


def _check_files(layout: TokenLayout, listed: list[dict], dtype: np.dtype, vocab: int) -> dict[str, TokenFile]:
    files = {}
    for f in listed:
        rel, want = f["path"], int(f["tokens"])
        where = layout.display(rel)
        info = layout.fs.get_file_info(layout.path(rel))
        if info.type.name != "File":
            raise DataError(f"{where}: token file missing")
        if info.size % dtype.itemsize:
            raise DataError(f"{where}: {info.size} bytes is not a whole number of {dtype.name} tokens "
                            f"({dtype.itemsize} bytes each): the file is truncated or corrupt")
        if info.size // dtype.itemsize != want:
            raise DataError(f"{where}: {info.size // dtype.itemsize} tokens, the manifest says {want} (truncated?)")
        tf = TokenFile(layout.fs, layout.path(rel), dtype, where=where)
        for start in range(0, len(tf), SCAN_TOKENS):
            chunk = tf.read(start, min(SCAN_TOKENS, len(tf) - start))
            if chunk.size and int(chunk.max()) >= vocab:
                at = start + int(np.argmax(chunk >= vocab))
                raise DataError(f"{where}: token {at} is id {int(chunk[at - start])}, outside the vocabulary "
                                f"of {vocab}")
        files[rel] = tf
    return files


def _tokens_at(tf: TokenFile, positions: np.ndarray) -> np.ndarray:
    if tf._map is not None:  # local: one gather over the memory map
        return np.asarray(tf._map[positions], dtype=np.int64)
    return np.array([int(tf.read(int(p), 1)[0]) for p in positions], dtype=np.int64)


def _check_index(layout: TokenLayout, index: list[dict], files: dict[str, TokenFile], bos, eos) -> None:
    for entry in index:
        where = layout.display(entry["path"])
        try:
            t = pq.read_table(layout.path(entry["path"]), columns=["id", "file", "offset", "length"],
                              filesystem=layout.fs)
        except Exception as e:
            raise DataError(f"{where}: cannot read the token index part: {e}") from None
        if t.num_rows != int(entry["documents"]):
            raise DataError(f"{where}: {t.num_rows} rows, the manifest says {entry['documents']}")
        length = t.column("length").to_numpy().astype(np.int64)
        offset = t.column("offset").to_numpy().astype(np.int64)
        if int(length.sum()) != int(entry["tokens"]):
            raise DataError(f"{where}: {int(length.sum())} tokens, the manifest says {entry['tokens']}")
        names = np.asarray(t.column("file").cast("string").to_pylist(), dtype=object)
        ids = t.column("id")
        bad_len = np.flatnonzero(length < (2 if bos is not None else 1))
        if bad_len.size:
            r = int(bad_len[0])
            raise DataError(f"{where}: row {r} (id {ids[r]}) has length {int(length[r])}, shorter than BOS + EOS")
        for name in np.unique(names):
            rows = np.flatnonzero(names == name)
            tf = files.get(name)
            if tf is None:
                raise DataError(f"{where}: row {int(rows[0])} names token file {name!r}, not in the manifest")
            lo, hi = offset[rows], offset[rows] + length[rows]
            out = np.flatnonzero((lo < 0) | (hi > len(tf)))
            if out.size:
                r = int(rows[out[0]])
                raise DataError(f"{where}: row {r} (id {ids[r]}): tokens [{int(offset[r])}, "
                                f"{int(offset[r] + length[r])}) outside {tf.where}'s {len(tf)}")
            for label, want, pos in (("start with BOS", bos, lo), ("end with EOS", eos, hi - 1)):
                if want is None:
                    continue
                got = _tokens_at(tf, pos)
                wrong = np.flatnonzero(got != int(want))
                if wrong.size:
                    r = int(rows[wrong[0]])
                    raise DataError(f"{where}: row {r} (id {ids[r]}) does not {label} (token {int(got[wrong[0]])} "
                                    f"at {tf.where} offset {int(pos[wrong[0]])}, expected {int(want)}): the index "
                                    "or the token file is corrupt")
