"""Readers, one per input format, and their registry: a file's kind comes from its name
(:data:`KINDS`), and :data:`READERS` maps a kind to the function that reads a part of it.

A reader is ``read(part, max_record_bytes, options) -> Iterator[dict | pyarrow.Table]``: it yields
documents (a dict of ``schema.DOC_SCHEMA`` columns plus the ``input.reader.metadata_columns``, a
:class:`~curation.io.readers.columnar.DocChunk` of consecutive ones with their bodies still Arrow, or a
whole table of them) and rejected rows (a dict with ``stage``, ``reason`` and ``detail`` naming the
file and the record). It never raises for bad content. To add a format: a module here, one line in
``KINDS`` and one in ``READERS`` (docs/inputs.md).
"""

from __future__ import annotations

from curation.io.readers.html import read_html_file
from curation.io.readers.jsonl import read_jsonl
from curation.io.readers.parquet import read_parquet
from curation.io.readers.run_stage import read_run_stage
from curation.io.readers.text import read_text_file
from curation.io.readers.warc import read_warc

#: File name endings and their kind, longest first.
KINDS = (
    (".warc.gz", "warc"),
    (".warc", "warc"),
    (".html.gz", "html"),
    (".htm.gz", "html"),
    (".html", "html"),
    (".htm", "html"),
    (".parquet", "parquet"),
    (".jsonl.gz", "jsonl"),
    (".json.gz", "jsonl"),
    (".jsonl", "jsonl"),
    (".txt.gz", "text"),
    (".txt", "text"),
)

#: Kind -> reader. ``run_stage`` parts are never found by name: ``--input RUN@STAGE`` lists them.
READERS = {
    "warc": read_warc,
    "html": read_html_file,
    "parquet": read_parquet,
    "jsonl": read_jsonl,
    "text": read_text_file,
    "run_stage": read_run_stage,
}


def file_kind(path: str) -> str | None:
    low = path.lower()
    for suffix, kind in KINDS:
        if low.endswith(suffix):
            return kind
    return None
