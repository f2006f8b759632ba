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
              options: ReaderOptions | None = None) -> Iterator[dict | pa.Table]:
    """Every row of one file (part): documents (dicts, or whole tables from a columnar reader), and
    rejected rows (they have a ``reason``). A file name that is not UTF-8, a file with no record, or
    an error inside the reader, is a rejected row."""
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


def read_shard(shard: Shard, batch_docs: int = 1000, max_record_bytes: int = 64 << 20) -> Iterator[ReadBatch]:
    """Yield the shard's documents in batches of at most ``batch_docs`` rows."""
    docs: list[dict] = []
    rejects: list[dict] = []
    meta = shard.options.metadata_columns
    for part in shard.parts:
        for row in read_part(part, max_record_bytes, shard.options):
            if isinstance(row, pa.Table):
                if docs or rejects:
                    yield _batch(docs, rejects, meta)
                    docs, rejects = [], []
                for start in range(0, row.num_rows, batch_docs):
                    yield ReadBatch(row.slice(start, batch_docs), _REJECT_SCHEMA.empty_table())
                continue
            (rejects if schema.REASON in row else docs).append(row)
            if len(docs) >= batch_docs or len(rejects) >= batch_docs:  # rejected rows count too: memory
                yield _batch(docs, rejects, meta)
                docs, rejects = [], []
    if docs or rejects:
        yield _batch(docs, rejects, meta)


def _batch(docs: list[dict], rejects: list[dict], metadata_columns: tuple[str, ...] = ()) -> ReadBatch:
    table = pa.Table.from_pylist(docs, schema=schema.DOC_SCHEMA)
    for c in metadata_columns:  # their type is the values' (Parquet's, JSON's)
        table = table.append_column(c, pa.array([d.get(c) for d in docs]))
    return ReadBatch(table, pa.Table.from_pylist(rejects, schema=_REJECT_SCHEMA))

