"""Read a shard of input as document batches; the entry point of the readers.

Supported inputs (docs/inputs.md; one module per format in :mod:`curation.io.readers`):

* WARC: ``*.warc``, ``*.warc.gz`` (response records; lenient: ``<uri>`` in angle brackets,
  records without dates, truncated gzip members are reported, not fatal).
* HTML files: ``*.html``, ``*.htm``, ``*.html.gz``, ``*.htm.gz``.
* Tables: ``*.parquet`` and ``*.jsonl``/``*.jsonl.gz``/``*.json.gz`` with an ``html`` or
  ``text`` column (or the columns ``input.reader`` names), optional ``id``, ``url`` and a date
  column (``fetch_time``, ``date``, ``added`` or ``created``), and ``metadata_columns`` carried through.
* Text: ``*.txt``, ``*.txt.gz``: one document per file, or per blank-line block.
* ``RUN@STAGE``: the documents a stage of a finished run kept (:mod:`curation.run.stage_output`).

Shards are planned by :mod:`curation.io.shards`. Reading never raises for bad content: it yields
rejected rows (stage ``read``) naming the file and the line, row or record - a value of the wrong
type (``bad_type``), a string that is not Unicode (a lone surrogate) or a file name that is not
UTF-8 (``undecodable``), a record over ``max_record_bytes`` (``too_large``, JSONL lines included,
never read whole), a file that cannot be opened (a symlink loop, a dangling symlink:
``unreadable_file``), a file that holds no record (``empty``), a WARC record cut short
(``truncated_file``), a record whose id repeats an earlier one of the same file (``duplicate_id``).
An unexpected error inside a reader also becomes an ``unreadable_file`` row for that file, and the
rest of the shard is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa

from curation import schema
from curation.io.readers import READERS, file_kind
from curation.io.readers.columnar import DocChunk
from curation.io.readers.common import (READ_STAGE, FilePart, display_path, file_size, id_key, not_a_file,
                                        reject_row)
from curation.io.readers.options import ReaderOptions
from curation.io.shards import InputError, Shard, discover, plan_parts, plan_shards

__all__ = ["READ_STAGE", "FilePart", "InputError", "ReadBatch", "ReaderOptions", "Shard", "discover",
           "display_path", "file_kind", "file_size", "id_key", "plan_parts", "plan_shards", "read_part",
           "read_shard"]


@dataclass
class ReadBatch:
    docs: pa.Table
    rejected: pa.Table


_REJECT_SCHEMA = pa.schema(
    [pa.field(schema.ID, pa.string()), pa.field(schema.URL, pa.string()), pa.field(schema.SOURCE, pa.string())]
    + schema.REJECT_FIELDS
)


def read_part(part: FilePart, max_record_bytes: int = 64 << 20,
              options: ReaderOptions | None = None) -> Iterator[dict | DocChunk | pa.Table]:
    """Every row of one file (part): documents (dicts, :class:`DocChunk` runs of a table read as
    columns, or whole tables of a run's stage output), and rejected rows (they have a ``reason``).
    A file name that is not UTF-8, a file with no record, or an error inside the reader, is a
    rejected row."""
    options = options or ReaderOptions()
    if display_path(part.path) != part.path:
        yield reject_row(part, "undecodable", "file name is not valid UTF-8; rename the file to read it")
        return
    why = not_a_file(part.path)
    if why:
        yield reject_row(part, "not_a_file", why)
        return
    rows = 0
    seen: set[str] = set()  # ids of this file's documents: a repeated one is rejected
    try:
        for row in READERS[part.kind](part, max_record_bytes, options):
            if isinstance(row, pa.Table):  # a run's stage output: ids already unique
                rows += row.num_rows
                yield row
                continue
            if isinstance(row, DocChunk):  # documents of a table read as columns
                rows += row.num_rows
                yield from _unique_ids(part, row, seen)
                continue
            rows += 1
            if schema.REASON not in row:
                if row[schema.ID] in seen:
                    where = row[schema.SOURCE].rsplit("#", 1)[-1]
                    row = reject_row(part, "duplicate_id", f"record #{where} repeats the id of an earlier "
                                     f"record of this file", row[schema.URL], row[schema.SOURCE])
                else:
                    seen.add(row[schema.ID])
            yield row
    except Exception as e:  # a reader bug or a library error on a hostile file: this file only
        rows += 1
        yield reject_row(part, "unreadable_file", f"after {rows - 1} rows: {type(e).__name__}: {e}", None, "error")
    if not rows and part.kind != "run_stage":  # a stage may have kept nothing of a shard
        yield reject_row(part, "empty", "no records" + (" (0-byte file)" if file_size(part.path) == 0 else ""))


def _unique_ids(part: FilePart, chunk: DocChunk, seen: set[str]) -> Iterator[DocChunk | dict]:
    """``chunk``'s documents, a document whose id repeats an earlier one of the file rejected
    (``duplicate_id``), as :func:`read_part` does for documents read row by row."""
    ids = chunk.table.column(schema.ID).to_pylist()
    start = 0
    for i, doc_id in enumerate(ids):
        if doc_id not in seen:
            seen.add(doc_id)
            continue
        if i > start:
            yield chunk.slice(start, i - start)
        source = chunk.table.column(schema.SOURCE)[i].as_py()
        where = source.rsplit("#", 1)[-1]
        yield reject_row(part, "duplicate_id", f"record #{where} repeats the id of an earlier record of this file",
                         chunk.table.column(schema.URL)[i].as_py(), source)
        start = i + 1
    if start < len(ids):
        yield chunk.slice(start) if start else chunk


def read_shard(shard: Shard, batch_docs: int = 1000, max_record_bytes: int = 64 << 20) -> Iterator[ReadBatch]:
    """Yield the shard's documents in batches of at most ``batch_docs`` rows (the same batches
    whether a table's documents come row by row or as columns)."""
    docs: list[dict | DocChunk] = []
    n_docs = 0
    rejects: list[dict] = []
    meta = shard.options.metadata_columns
    for part in shard.parts:
        for row in read_part(part, max_record_bytes, shard.options):
            if isinstance(row, pa.Table):
                if docs or rejects:
                    yield _batch(docs, rejects, meta)
                    docs, n_docs, rejects = [], 0, []
                for start in range(0, row.num_rows, batch_docs):
                    yield ReadBatch(row.slice(start, batch_docs), _REJECT_SCHEMA.empty_table())
                continue
            if isinstance(row, DocChunk):
                while row.num_rows:
                    take = min(batch_docs - n_docs, row.num_rows)
                    docs.append(row.slice(0, take))
                    n_docs += take
                    row = row.slice(take)
                    if n_docs >= batch_docs:
                        yield _batch(docs, rejects, meta)
                        docs, n_docs, rejects = [], 0, []
                continue
            if schema.REASON in row:
                rejects.append(row)
            else:
                docs.append(row)
                n_docs += 1
            if n_docs >= batch_docs or len(rejects) >= batch_docs:  # rejected rows count too: memory
                yield _batch(docs, rejects, meta)
                docs, n_docs, rejects = [], 0, []
    if docs or rejects:
        yield _batch(docs, rejects, meta)


def _batch(docs: list[dict | DocChunk], rejects: list[dict], metadata_columns: tuple[str, ...] = ()) -> ReadBatch:
    if not any(isinstance(d, DocChunk) for d in docs):
        table = pa.Table.from_pylist(docs, schema=schema.DOC_SCHEMA)
    else:  # runs of row documents and chunks, in order, as one table of one chunk per column
        pieces, run = [], []
        for d in docs:
            if isinstance(d, DocChunk):
                if run:
                    pieces.append(pa.Table.from_pylist(run, schema=schema.DOC_SCHEMA))
                    run = []
                pieces.append(d.table)
            else:
                run.append(d)
        if run:
            pieces.append(pa.Table.from_pylist(run, schema=schema.DOC_SCHEMA))
        table = pa.concat_tables(pieces).combine_chunks()
    for c in metadata_columns:  # their type is the values' (Parquet's, JSON's)
        values = []
        for d in docs:
            if isinstance(d, DocChunk):
                values.extend(d.metadata[c])
            else:
                values.append(d.get(c))
        table = table.append_column(c, pa.array(values))
    return ReadBatch(table, pa.Table.from_pylist(rejects, schema=_REJECT_SCHEMA))

