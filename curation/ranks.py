"""A score's rank within groups: each row's weighted percentile among its own group's rows.

Used to rank a score within ``(domain, language)`` (issue 24): a corpus-wide score such as the
token-frequency prior (:mod:`curation.text.token_prior`) also measures *which* language a
document is in (the domain's large languages look typical, a script with one document does
not), so a selection by it picks languages and scripts, not better documents. Its percentile
within the document's own language takes that out: every language spreads over [0, 1].

The percentile is weighted (by bytes in the selection test, whose halves are halves of bytes):
with a group's rows in ascending score order and ``w`` their weights, a row's percentile is the
midpoint of its weight's span, ``(cumsum(w) - w / 2) / sum(w)``. So a group with one row gets
0.5 (the middle), and a top half taken by percentile holds about half of each group's weight.
Rows without a score (NaN) keep NaN and are not counted in their group. Equal scores are ordered
by row index. Columnar: one lexsort over all rows.
"""

from __future__ import annotations

import numpy as np


def percentile_within(scores: np.ndarray, groups: list | np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each row's weighted midpoint percentile (0..1, higher: better) among its group's scored rows."""
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != n or len(groups) != n:
        raise ValueError(f"scores, groups and weights differ in length ({n}, {len(groups)}, {len(w)})")
    out = np.full(n, np.nan)
    ok = np.flatnonzero(~np.isnan(s))
    if not len(ok):
        return out
    _, g = np.unique(np.asarray(groups, dtype=object).astype(str)[ok], return_inverse=True)
    idx = np.lexsort((ok, s[ok], g))  # by group, then score ascending, then row
    order, go = ok[idx], g[idx]
    wo = w[order]
    cum = np.cumsum(wo)
    starts = np.r_[0, np.flatnonzero(np.diff(go)) + 1]
    before = np.repeat(np.r_[0.0, cum[starts[1:] - 1]], np.diff(np.r_[starts, len(order)]))
    total = np.bincount(go, weights=wo)[go]
    mid = cum - before - wo / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        out[order] = np.where(total > 0, mid / np.where(total > 0, total, 1.0), 0.5)
    return out
