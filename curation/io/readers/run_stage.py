"""Reader of a finished run's stage output (``--input RUN@STAGE``; the files are listed by
:mod:`curation.run.stage_output`): Parquet files of documents, read in column batches with every
column they have (domain, quality, lang, ...), ids kept as they are. A part from ``rejected/<s>/``
(a later stage of the same fused group) keeps only the rows stage ``s`` rejected, without their
``stage``/``reason``/``detail``: those documents are ones the named stage kept."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from curation import schema
from curation.io import fs as fsx
from curation.io.readers.common import FilePart, reject_row
from curation.io.readers.options import ReaderOptions

#: Columns of a rejected row that say why it was dropped: not document columns.
_VERDICT = (schema.STAGE, schema.REASON, schema.DETAIL)


def as_documents(table: pa.Table) -> pa.Table:
    """``table`` with the document columns first, in ``DOC_SCHEMA``'s types (a missing one, e.g.
    ``html`` in rejected rows, is all null), then its other columns; the verdict columns dropped."""
    cols, fields = [], []
    for f in schema.DOC_SCHEMA:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
        fields.append(f)
    for name in table.column_names:
        if name not in schema.DOC_SCHEMA.names and name not in _VERDICT:
            cols.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def read_run_stage(part: FilePart, max_record_bytes: int, options: ReaderOptions | None = None,
                   batch_rows: int = 1000) -> Iterator[dict | pa.Table]:
    try:
        pf = fsx.parquet_file(part.path)
        if schema.ID not in pf.schema_arrow.names or schema.TEXT not in pf.schema_arrow.names:
            yield reject_row(part, "no_text_column", f"columns {pf.schema_arrow.names} lack id or text "
                             "(a run written with output.keep_rejected_text: false keeps no text in rejected/; "
                             "read RUN@<the last stage of the group> instead)", part.path)
            return
        for batch in pf.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            if part.stages is not None and schema.STAGE in table.column_names:
                table = table.filter(pc.is_in(table.column(schema.STAGE), pa.array(list(part.stages))))
            if table.num_rows:
                yield as_documents(table)
    except Exception as e:  # a corrupt or vanished file of the source run
        yield reject_row(part, "unreadable_file", f"{type(e).__name__}: {e}", part.path)
