"""The base of a stage that adds columns and drops nothing: a subclass implements ``annotate``.

```python
class WordCount(Annotator):
    name = "word_count"
    provides = ("words",)

    def annotate(self, table):
        return {"words": pa.array(word_counts(table.column("text")), pa.int32())}
```

The base appends the columns (replacing any of the same name, so a stage can run twice) and
returns an empty rejected table; the engine accounts every row as kept.
"""

from __future__ import annotations

import pyarrow as pa

from curation.operators.base import MapOperator, OpResult, with_columns


class Annotator(MapOperator):
    """A map stage that adds typed columns, one value per row, and keeps every row."""

    def annotate(self, table: pa.Table) -> dict[str, pa.Array]:  # pragma: no cover - interface
        """The new columns by name, in order, each with ``table.num_rows`` typed values."""
        raise NotImplementedError(f"{type(self).__name__} must implement annotate(table)")

    def process(self, table: pa.Table) -> OpResult:
        columns = self.annotate(table)
        for name, values in columns.items():
            if len(values) != table.num_rows:
                raise ValueError(f"stage {self.stage}: column {name!r} has {len(values)} values for "
                                 f"{table.num_rows} rows")
        table = with_columns(table, columns)
        return OpResult(table, self.no_rejections(table))
