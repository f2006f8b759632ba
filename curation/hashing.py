"""The package's one set of hash helpers: 64-bit hashes of strings and uint64 arrays.

* :func:`hash64` is a 64-bit BLAKE2b of one string (keys of global stages, seeded sampling).
* :func:`fmix64` is MurmurHash3's 64-bit finalizer: a bijection on uint64 with full avalanche, used
  to turn structured integers into well-mixed keys (dedup, evaluation draws).
* :func:`splitmix64` is the splitmix64 finalizer (Steele et al. 2014), a different bijection used by
  kl_filter, heuristics, quality_select and fluency. The two are not interchangeable: each keeps the
  bits its callers have always produced.
* :func:`hash_strings` hashes every string of an Arrow string array at once: a polynomial hash of
  the UTF-8 bytes modulo 2**64, computed with one ``np.add.reduceat`` over all bytes, plus the length,
  then ``fmix64``. It is stable across processes and platforms (not Python's salted ``hash``).
  Polynomial hashes modulo a power of two have known adversarial collisions (Thue-Morse strings);
  for deduplication of natural text that is harmless and documented in docs/dedup.md.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

U64 = np.uint64
_M1 = U64(0xFF51AFD7ED558CCD)
_M2 = U64(0xC4CEB9FE1A85EC53)
_BASE = U64(0x100000001B3)  # the FNV-1 64-bit prime, an odd multiplier
_LEN = U64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio
_SALT = U64(0x2545F4914F6CDD1D)  # so that the empty string does not hash to 0

_pow_cache = np.ones(1, dtype=U64)


def hash64(text: str, seed: str = "") -> int:
    """A 64-bit BLAKE2b hash of a string as an unsigned int (keys of global stages, sampling).

    With a ``seed`` the hash is of ``seed + "\\x1f" + text``, so independent decisions (sampling,
    splits) can draw from the same ids without correlating.
    """
    data = (f"{seed}\x1f{text}" if seed else text).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def splitmix64(x) -> np.ndarray:
    """The splitmix64 finalizer over a numpy array: spreads small integers over 64 bits."""
    x = np.asarray(x).astype(U64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> U64(27))) * U64(0x94D049BB133111EB)
        return x ^ (x >> U64(31))


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3 fmix64 on a uint64 array (returns a new array)."""
    x = np.asarray(x, dtype=U64).copy()
    with np.errstate(over="ignore"):
        x ^= x >> U64(33)
        x *= _M1
        x ^= x >> U64(33)
        x *= _M2
        x ^= x >> U64(33)
    return x


def _powers(n: int) -> np.ndarray:
    """_BASE**k mod 2**64 for k < n (cached, grown by doubling)."""
    global _pow_cache
    if len(_pow_cache) < n:
        size = max(n, 2 * len(_pow_cache))
        p = np.full(size, _BASE, dtype=U64)
        p[0] = 1
        with np.errstate(over="ignore"):
            _pow_cache = np.multiply.accumulate(p, dtype=U64)
    return _pow_cache[:n]


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64 of len n+1 into ``data``, data uint8) of a string/large_string array."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_string(arr.type) or pa.types.is_binary(arr.type):
        arr = arr.cast(pa.large_binary() if pa.types.is_binary(arr.type) else pa.large_string())
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


#: Bytes hashed per step: the per-byte temporaries (about 40 bytes per input byte) stay ~40 MiB.
CHUNK_BYTES = 1 << 20


def hash_strings(arr: pa.Array) -> np.ndarray:
    """A stable 64-bit hash of each string (nulls hash like the empty string)."""
    offsets, data = string_buffers(arr)
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0, dtype=U64)
    if offsets[-1] - offsets[0] > CHUNK_BYTES:  # bound the temporaries: hash ranges of strings
        cuts = np.searchsorted(offsets, np.arange(offsets[0], offsets[-1], CHUNK_BYTES), side="right") - 1
        cuts = np.unique(np.r_[0, cuts, n].clip(0, n))
        return np.concatenate([_hash_range(offsets[lo: hi + 1], data) for lo, hi in zip(cuts[:-1], cuts[1:])
                               if hi > lo])
    return _hash_range(offsets, data)


def _hash_range(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    start, end = int(offsets[0]), int(offsets[-1])
    out = np.zeros(n, dtype=U64)
    if end > start:
        nonempty = lengths > 0
        seg_idx = np.repeat(np.arange(n), lengths)
        # weight of each byte: BASE ** (bytes after it in its string)
        pos_from_end = (offsets[1:][seg_idx] - 1) - np.arange(start, end)
        with np.errstate(over="ignore"):
            terms = data[start:end].astype(U64) * _powers(int(lengths.max()))[pos_from_end]
            sums = np.add.reduceat(terms, (offsets[:-1][nonempty] - start))
        out[nonempty] = sums
    with np.errstate(over="ignore"):
        out += lengths.astype(U64) * _LEN + _SALT
    return fmix64(out)


def ids_to_u64(ids: pa.Array | list) -> np.ndarray:
    """Document ids (16 hex digits, see curation.ids) to uint64, losslessly.

    An id that is not 16 hex digits is hashed instead (still deterministic)."""
    values = ids.to_pylist() if hasattr(ids, "to_pylist") else list(ids)
    out = np.empty(len(values), dtype=U64)
    for i, v in enumerate(values):  # ids are short; int(v, 16) is the fastest exact parse
        try:
            if len(v) != 16:
                raise ValueError
            out[i] = int(v, 16)
        except (ValueError, TypeError):
            out[i] = hash_strings(pa.array([str(v)]))[0]
    return out


def u64_to_ids(values: np.ndarray) -> list[str]:
    return [f"{int(v):016x}" for v in values]
