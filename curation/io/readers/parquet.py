"""Parquet reader: one document per row, the columns named by ``input.reader`` (docs/inputs.md);
a file split by row groups is read one part at a time, row numbers counting over the whole file.
Row groups whose bodies are Arrow strings are read as columns (:mod:`curation.io.readers.columnar`),
others row by row; both give the same documents and rejected rows."""

from __future__ import annotations

from typing import Iterator

from curation.io import fs as fsx
from curation.io.readers.columnar import DocChunk, columnar_body, table_docs
from curation.io.readers.common import FilePart, reject_row
from curation.io.readers.options import ReaderOptions
from curation.io.readers.rows import body_description, has_body_column, row_doc, wanted_columns


def read_parquet(part: FilePart, max_record_bytes: int,
                 options: ReaderOptions | None = None) -> Iterator[dict | DocChunk]:
    options = options or ReaderOptions()
    try:
        pf = fsx.parquet_file(part.path)
        names = pf.schema_arrow.names
        if not has_body_column(names, options):
            yield reject_row(part, "no_text_column", f"columns {names} have neither {body_description(options)} "
                             "(name the text's column with input.reader.text_column)", part.path)
            return
        cols = [c for c in wanted_columns(options) if c in names]
        groups = part.row_groups if part.row_groups is not None else range(pf.metadata.num_row_groups)
        first = [0]  # row numbers count over the whole file, whatever part of it this is
        for g in range(pf.metadata.num_row_groups):
            first.append(first[-1] + pf.metadata.row_group(g).num_rows)
        for g in groups:
            n = first[g]
            table = pf.read_row_group(g, columns=cols)
            if columnar_body(table, options):  # the bodies stay Arrow: no Python round trip
                yield from table_docs(part, table, n, max_record_bytes, options)
                continue
            for row in table.to_pylist():
                yield row_doc(part, row, n, max_record_bytes, f"row {n}", options)
                n += 1
    except Exception as e:  # corrupt footer, bad page, wrong magic
        yield reject_row(part, "unreadable_file", f"{type(e).__name__}: {e}", part.path)
