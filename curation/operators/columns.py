"""Declared columns: a pipeline is checked, stage by stage, before any work starts.

Every reader gives the document columns (``schema.DOC_SCHEMA``: id, url, fetch_time, source,
html, text). Each stage may read only those and the columns an earlier stage ``provides``; a
stage that ``requires`` a column nothing before it provides is refused with one line naming the
stage and the column (a ``mix`` with no ``domain`` stage before it would label everything
``general``).
"""

from __future__ import annotations

from curation import schema
from curation.operators.base import Operator

#: The columns every reader gives.
READ_COLUMNS: tuple[str, ...] = tuple(schema.DOC_SCHEMA.names)


class MissingColumn(ValueError):
    """A stage requires a column that no stage before it provides."""


def check_chain(ops: list[tuple[str, Operator]], provided=()) -> None:
    """Raise :class:`MissingColumn` for the first stage whose ``requires`` are not met by the
    columns the readers and the stages before it give; ``ops`` is (stage name, operator) in order.
    ``provided``: columns the inputs bring besides the readers' own (``input.reader.metadata_columns``,
    the columns of a ``RUN@STAGE`` input)."""
    available = set(READ_COLUMNS) | set(provided)
    for i, (name, op) in enumerate(ops):
        missing = [c for c in op.requires if c not in available]
        if missing:
            col = missing[0]
            later = [n for n, o in ops[i + 1:] if col in o.provides]
            if later:
                hint = f"stage {later[0]!r}, which provides it, comes after it: move it before"
            else:
                hint = f"add a stage that provides it before {name!r}"
            raise MissingColumn(f"stage {name!r} requires column {col!r}, which no stage before it provides ({hint})")
        available.update(op.provides)
