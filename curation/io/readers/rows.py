"""A document from one row of a table (a Parquet row, a JSONL line): the columns named by
:class:`~curation.io.readers.options.ReaderOptions`, checked (type, Unicode, size) into a document
or a rejected row."""

from __future__ import annotations

from curation.ids import content_hash, stable_id
from curation.io.readers.common import FilePart, doc, id_key, parse_time, reject_row, text_or_none
from curation.io.readers.options import ReaderOptions

#: Where a row's fetch time is read from: the first of these that is set.
DATE_COLUMNS = ("fetch_time", "date", "added", "created")


def wanted_columns(options: ReaderOptions) -> tuple[str, ...]:
    """The columns a table reader reads (in this order; the ones a table lacks are skipped)."""
    html, text = options.body_columns()
    body = tuple(c for c in (html, text) if c)
    return tuple(dict.fromkeys((options.id_column, options.url_column, *body, *DATE_COLUMNS,
                                *options.metadata_columns)))


def has_body_column(names, options: ReaderOptions) -> bool:
    return any(c in names for c in options.body_columns() if c)


def body_description(options: ReaderOptions) -> str:
    return " nor ".join(c for c in options.body_columns() if c)


def row_doc(part: FilePart, row: dict, n: int, max_record_bytes: int, where: str,
            options: ReaderOptions) -> dict:
    """A document from a table row (``where`` says "line 12" or "row 12"), or a rejected row."""
    html_col, text_col = options.body_columns()
    html = row.get(html_col) if html_col else None
    text = row.get(text_col) if text_col else None
    url = text_or_none(row.get(options.url_column))
    if html is None and text is None:
        return reject_row(part, "empty", f"{where} has neither {body_description(options)}", url, n)
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    for column, value in ((html_col, html), (text_col, text)):
        if value is not None and not isinstance(value, str):
            return reject_row(part, "bad_type", f"{where}: '{column}' is {type(value).__name__}, not a string",
                              url, n)
    body = html if html is not None else text
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, e.g. JSON "\ud800"
        return reject_row(part, "undecodable", f"{where}: '{html_col if html is not None else text_col}' is not "
                          f"valid Unicode: {e.reason} at character {e.start}", url, n)
    if len(data) > max_record_bytes:
        return reject_row(part, "too_large", f"{where} is {len(data)} bytes (max_record_bytes {max_record_bytes})",
                          url, n)
    if html is not None and text is not None and text_or_none(text) is None:
        text = None  # the html is what is read; an unusable text column beside it is dropped
    given = row.get(options.id_column)
    name = id_key(part)
    doc_id = stable_id("row", name, str(given)) if given is not None else stable_id(
        "row", name, url, content_hash(data)
    )
    meta = {c: row.get(c) for c in options.metadata_columns}
    return doc(doc_id, url, parse_time(_first_date(row)), f"{part.path}#{n}", html=html, text=text, metadata=meta)


def _first_date(row: dict):
    for c in DATE_COLUMNS:
        if row.get(c) is not None:
            return row[c]
    return None
