"""Documents from a table's rows without a Python round trip of their bodies: the columnar form
of :func:`curation.io.readers.rows.row_doc`.

A Parquet row group whose ``html``/``text`` columns are strings is turned into :class:`DocChunk`
runs (the good rows, their bodies still Arrow) and rejected rows, in row order, by the same rules
as ``row_doc``: a row with neither body is ``empty``, one over ``max_record_bytes`` (its UTF-8
size, which Arrow holds) is ``too_large``. Only the small columns (id, url, dates, metadata) become
Python values, for the ids and the dates. Arrow string columns hold UTF-8 (checked here: Parquet
does not), so ``bad_type`` and ``undecodable`` cannot occur; a table this cannot take (binary or
other body columns, invalid UTF-8) is refused by :func:`columnar_body` and read row by row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from curation import schema
from curation.ids import stable_id
from curation.io.readers.common import FilePart, id_key, parse_time, reject_row, text_or_none
from curation.io.readers.options import ReaderOptions
from curation.io.readers.rows import DATE_COLUMNS, body_description


@dataclass
class DocChunk:
    """Consecutive documents of one file: ``table`` has the columns of ``schema.DOC_SCHEMA``;
    ``metadata`` the ``input.reader.metadata_columns`` as Python values (their Arrow type is
    inferred from the values when a batch is made, as for documents read row by row)."""

    table: pa.Table
    metadata: dict[str, list]

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def slice(self, start: int, length: int | None = None) -> "DocChunk":
        stop = self.num_rows if length is None else start + length
        return DocChunk(self.table.slice(start, stop - start), {c: v[start:stop] for c, v in self.metadata.items()})


def columnar_body(table: pa.Table, options: ReaderOptions) -> bool:
    """Whether ``table``'s rows can be read by :func:`table_docs`: its body columns are Arrow
    strings, and every string in it is valid UTF-8."""
    for c in options.body_columns():
        if c and c in table.column_names:
            t = table.schema.field(c).type
            if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
                return False
    try:
        table.validate(full=True)  # UTF-8 of every string column: row_doc's to_pylist would raise
    except pa.ArrowInvalid:
        return False
    return True


def table_docs(part: FilePart, table: pa.Table, first_row: int, max_record_bytes: int,
               options: ReaderOptions) -> Iterator[DocChunk | dict]:
    """The rows of ``table`` (row ``first_row`` of the file first) as document chunks and rejected
    rows, in row order; what ``row_doc`` gives for each row, but the bodies stay Arrow."""
    n = table.num_rows
    html_col, text_col = options.body_columns()
    html = _column(table, html_col)
    text = _column(table, text_col)
    has_html = _present(html, n)
    has_text = _present(text, n)
    body_len = pc.if_else(has_html, _byte_length(html, n), _byte_length(text, n)).to_pylist()
    has_html, has_text = has_html.to_pylist(), has_text.to_pylist()
    urls = [text_or_none(u) for u in _values(table, options.url_column, n)]
    given = _values(table, options.id_column, n)
    dates = _first_dates(table, n)
    name = id_key(part)
    ids: list[str] = []
    times: list = []
    sources: list[str] = []
    good: list[int] = []
    for i in range(n):
        row = first_row + i
        where = f"row {row}"
        if not has_html[i] and not has_text[i]:
            yield from _flush(part, table, good, ids, times, sources, urls, options)
            yield reject_row(part, "empty", f"{where} has neither {body_description(options)}", urls[i], row)
            continue
        if body_len[i] > max_record_bytes:
            yield from _flush(part, table, good, ids, times, sources, urls, options)
            yield reject_row(part, "too_large", f"{where} is {body_len[i]} bytes (max_record_bytes "
                             f"{max_record_bytes})", urls[i], row)
            continue
        if given[i] is not None:
            ids.append(stable_id("row", name, str(given[i])))
        else:
            body = html if has_html[i] else text
            digest = hashlib.blake2b(body[i].as_buffer(), digest_size=16).hexdigest()  # ids.content_hash
            ids.append(stable_id("row", name, urls[i], digest))
        times.append(parse_time(dates[i]))
        sources.append(f"{part.path}#{row}")
        good.append(i)
    yield from _flush(part, table, good, ids, times, sources, urls, options)


def _flush(part, table, good, ids, times, sources, urls, options) -> Iterator[DocChunk]:
    """The pending good rows (consecutive: a rejected row flushes them first) as one chunk."""
    if not good:
        return
    start, length = good[0], len(good)
    html_col, text_col = options.body_columns()
    part_table = table.slice(start, length)
    columns = {
        schema.ID: pa.array(ids, pa.string()),
        schema.URL: pa.array(urls[start:start + length], pa.string()),
        schema.FETCH_TIME: pa.array(times, schema.DOC_SCHEMA.field(schema.FETCH_TIME).type),
        schema.SOURCE: pa.array(sources, pa.string()),
        schema.HTML: _body(part_table, html_col, length),
        schema.TEXT: _body(part_table, text_col, length),
    }
    meta = {c: _values(part_table, c, length) for c in options.metadata_columns}
    chunk = DocChunk(pa.Table.from_arrays([columns[f.name] for f in schema.DOC_SCHEMA], schema=schema.DOC_SCHEMA),
                     meta)
    good.clear(), ids.clear(), times.clear(), sources.clear()
    yield chunk


def _column(table: pa.Table, name: str | None) -> pa.ChunkedArray | None:
    return table.column(name) if name and name in table.column_names else None


def _present(col: pa.ChunkedArray | None, n: int) -> pa.Array:
    return pa.array([False] * n) if col is None else pc.is_valid(col)


def _byte_length(col: pa.ChunkedArray | None, n: int):
    return pa.nulls(n, pa.int64()) if col is None else pc.cast(pc.binary_length(col), pa.int64())


def _body(table: pa.Table, name: str | None, n: int) -> pa.Array:
    col = _column(table, name)
    if col is None:
        return pa.nulls(n, pa.large_string())
    return col.cast(pa.large_string()).combine_chunks()


def _values(table: pa.Table, name: str | None, n: int) -> list:
    """A small column as Python values, None for every row where the table lacks it."""
    return table.column(name).to_pylist() if name and name in table.column_names else [None] * n


def _first_dates(table: pa.Table, n: int) -> list:
    out = [None] * n
    for c in reversed(DATE_COLUMNS):  # the first set one wins: it is written last
        if c in table.column_names:
            for i, v in enumerate(table.column(c).to_pylist()):
                if v is not None:
                    out[i] = v
    return out
