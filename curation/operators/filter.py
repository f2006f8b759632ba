"""The base of a stage that only decides which rows go: a subclass implements ``decide``.

```python
class NoLorem(Filter):
    name = "no_lorem"

    def decide(self, table):
        text = pc.utf8_lower(table.column("text"))
        return reasons_where(pc.match_substring(text, "lorem ipsum"), "lorem_ipsum")
```

The base does the rest, as for every built-in stage: ``setup()`` is run by the engine, the rows
are split into kept and rejected, and each rejected row carries the stage name, the reason and
the detail, is written to ``rejected/<stage>/`` and counted in ``stats/`` (so ``curate status``
adds up: in = kept + rejected).

A filter that also records what it measured (``language``: ``lang``, ``lang_score``;
``heuristics``: every measured value) returns a :class:`Decision` with those ``columns``: the base
adds them to every row, kept and rejected (replacing columns of the same name), before it splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np
import pyarrow as pa

from curation.operators.base import MapOperator, OpResult, with_columns

#: What ``decide`` returns for a batch of n rows: n reasons (None keeps the row), or a pair
#: (reasons, details) with n details (None: no detail). Lists, numpy arrays or Arrow arrays.
Reasons = Union[Sequence, np.ndarray, pa.Array, pa.ChunkedArray]


@dataclass
class Decision:
    """What ``decide`` may return instead of bare reasons: one reason per row (None keeps it),
    optional details, and the columns measured on the way."""

    reasons: Reasons
    details: Reasons | None = None
    #: Columns added to every row (kept and rejected), in order, replacing columns of the same name.
    columns: dict[str, pa.Array] = field(default_factory=dict)
    #: Existing columns rewritten in place (same position), e.g. ``pii``'s redacted ``text``.
    rewrite: dict[str, pa.Array] = field(default_factory=dict)


def reasons_where(reject: Reasons, reason: str, otherwise: Reasons | None = None) -> np.ndarray:
    """One reason per row: ``reason`` where ``reject`` (a boolean mask; null counts as False) is
    true, else the row's reason from ``otherwise`` (None: keep). Chains rules vectorized:
    ``reasons_where(too_short, "too_short", reasons_where(no_alpha, "no_alpha"))``."""
    mask = _as_bool(reject)
    out = np.full(len(mask), None, dtype=object) if otherwise is None else _as_objects(otherwise).copy()
    out[mask] = reason
    return out


def _as_bool(mask: Reasons) -> np.ndarray:
    if isinstance(mask, (pa.Array, pa.ChunkedArray)):
        mask = mask.fill_null(False).to_numpy(zero_copy_only=False)
    return np.asarray(mask, dtype=bool)


def _as_objects(values: Reasons) -> np.ndarray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_pylist()
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=object)


def _as_strings(values: Reasons, n: int, what: str, stage: str) -> list:
    out = _as_objects(values).tolist()
    if len(out) != n:
        raise ValueError(f"stage {stage}: decide returned {len(out)} {what} for {n} rows")
    return [None if v is None else str(v) for v in out]


class Filter(MapOperator):
    """A map stage that keeps or rejects rows and changes nothing else."""

    def decide(self, table: pa.Table) -> Reasons | tuple[Reasons, Reasons] | Decision:  # pragma: no cover
        """One reason per row of ``table`` (None = keep), ``(reasons, details)``, or a :class:`Decision`."""
        raise NotImplementedError(f"{type(self).__name__} must implement decide(table)")

    def process(self, table: pa.Table) -> OpResult:
        out = self.decide(table)
        if not isinstance(out, Decision):
            out = Decision(*out) if isinstance(out, tuple) else Decision(out)
        n = table.num_rows
        for name, values in {**out.rewrite, **out.columns}.items():
            if len(values) != n:
                raise ValueError(f"stage {self.stage}: column {name!r} has {len(values)} values for {n} rows")
        for name, values in out.rewrite.items():
            table = table.set_column(table.column_names.index(name), name, values)
        if out.columns:
            table = with_columns(table, out.columns)
        reasons = _as_strings(out.reasons, n, "reasons", self.stage)
        details = None if out.details is None else _as_strings(out.details, n, "details", self.stage)
        return self.split(table, reasons, details)
