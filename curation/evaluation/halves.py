"""Halves of a pool by a score, per domain: the test of whether a score picks better training data.

DCLM (Li et al. 2024, "DataComp-LM", Section 4) judges a quality filter by training on what it
keeps against a random subset of the same size. ``curate evaluate --select COLUMN`` does that on
one pool (e.g. the documents ``quality_select`` received, ``RUN@quality``), per domain:

* ``top:COLUMN``: each domain's documents by COLUMN, best first, until half of the domain's bytes;
* ``bottom:COLUMN``: the rest of the domain (the complement of the top half);
* ``random``: each domain's documents in a seeded hash order, until half of its bytes.

Each half holds half of every domain's UTF-8 bytes (to one document), so the halves differ only in
which documents they hold, not in how much of each domain; ``curate evaluate`` then draws each to
the random half's domain token shares at equal tokens. A score passes when the top half beats the
random half and the bottom half is the worst of the three (:func:`verdict`).

A document whose midpoint (in the domain's cumulative bytes) falls in the first half is in it.
Equal scores are ordered by the seeded hash, as are rows without a score (null or NaN: last, as
the worst). Rows without a domain column are all one domain. Everything is columnar (numpy sorts).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.hashing import U64, hash_strings, fmix64

RANDOM = "random"
#: the pass rule of issue 24: top beats random by at least this share of mean bits per byte
MIN_GAIN = 0.01


def _hash_order_key(texts: pa.ChunkedArray | pa.Array, seed: int) -> np.ndarray:
    return fmix64(hash_strings(texts) ^ fmix64(np.full(1, seed + 0x5EED, dtype=U64)))


def _first_half(order: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """Rows (indices into the domain) whose byte midpoint, taken in ``order``, is in the first half."""
    w = nbytes[order].astype(np.float64)
    mid = np.cumsum(w) - w / 2
    return order[mid < w.sum() / 2]


def split(table: pa.Table, column: str | None, seed: int = 0, domain_column: str = "domain") -> dict[str, np.ndarray]:
    """Boolean masks over ``table``'s rows: ``{"top": ..., "bottom": ...}`` by ``column`` (higher
    is better), or ``{"random": ...}`` when ``column`` is None. See the module docstring."""
    n = table.num_rows
    nbytes = np.asarray(pc.fill_null(pc.binary_length(table.column("text")), 0), dtype=np.int64)
    key = _hash_order_key(table.column("text"), seed)
    if domain_column in table.column_names:
        dom = np.asarray(pc.fill_null(table.column(domain_column), "").to_numpy(zero_copy_only=False), dtype=object)
    else:
        dom = np.full(n, "", dtype=object)
    if column is not None:
        if column not in table.column_names:
            raise ValueError(f"no column {column!r} to select by (columns: {', '.join(table.column_names)})")
        s = np.asarray(pc.cast(table.column(column), pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        s = np.where(np.isnan(s), -np.inf, s)
    first = np.zeros(n, dtype=bool)
    for d in np.unique(dom.astype(str)):
        rows = np.flatnonzero(dom.astype(str) == d)
        if column is None:
            order = rows[np.argsort(key[rows], kind="stable")]
        else:
            order = rows[np.lexsort((key[rows], -s[rows]))]  # best first, ties by the seeded hash
        first[_first_half(order, nbytes)] = True
    if column is None:
        return {RANDOM: first}
    return {f"top:{column}": first, f"bottom:{column}": ~first}


def names(columns: list[str]) -> list[str]:
    """The arms of ``--select``, baseline first."""
    return [RANDOM] + [f"{h}:{c}" for c in columns for h in ("top", "bottom")]


def verdict(arms: dict, columns: list[str]) -> dict:
    """Per column: top vs random on the mean bits per byte (negative: better), whether the bottom
    half is the worst of the three, and whether the score passes (top at least MIN_GAIN better)."""
    out = {}
    r = arms[RANDOM]["mean_bpb"]
    for c in columns:
        t, b = arms[f"top:{c}"]["mean_bpb"], arms[f"bottom:{c}"]["mean_bpb"]
        gain = t / r - 1
        worst = b > max(t, r)
        out[c] = {"top_vs_random": gain, "bottom_vs_random": b / r - 1, "bottom_worst": bool(worst),
                  "passes": bool(gain <= -MIN_GAIN and worst)}
    return out


def describe(table: pa.Table, mask: np.ndarray, columns: list[str], domain_column: str = "domain") -> dict:
    """What a half holds per domain: documents, bytes and the mean of each score column."""
    t = table.filter(pa.array(mask))
    nbytes = np.asarray(pc.fill_null(pc.binary_length(t.column("text")), 0), dtype=np.int64)
    dom = (np.asarray(pc.fill_null(t.column(domain_column), "").to_numpy(zero_copy_only=False), dtype=object).astype(str)
           if domain_column in t.column_names else np.full(t.num_rows, ""))
    out = {}
    for d in np.unique(dom):
        m = dom == d
        rec = {"documents": int(m.sum()), "bytes": int(nbytes[m].sum())}
        for c in columns:
            if c in t.column_names:
                v = np.asarray(pc.cast(t.column(c), pa.float64()).to_numpy(zero_copy_only=False))[m]
                rec[f"mean_{c}"] = float(np.nanmean(v)) if np.isfinite(v).any() else None
        out[d] = rec
    return out
