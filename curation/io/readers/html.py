"""HTML file reader (``*.html``, ``*.htm``, and their ``.gz``): one document per file, its url the
path relative to the input folder, its id a hash of that path and the bytes."""

from __future__ import annotations

import os
from typing import Iterator

from curation.ids import content_hash, stable_id
from curation.io.charset import DecodeError, decode_page
from curation.io.gz import was_cut
from curation.io.readers.common import FilePart, NotAFile, doc, open_part, reject_row
from curation.io.readers.options import ReaderOptions


def decoded_html(part: FilePart, data: bytes, declared: str | None, url, key):
    """Return (html, None) or (None, reject row)."""
    if not data.strip():
        return None, reject_row(part, "empty", "no content", url, key)
    try:
        html, _ = decode_page(data, declared)
        return html, None
    except DecodeError as e:
        return None, reject_row(part, e.reason, e.detail, url, key)


def read_whole(part: FilePart, max_record_bytes: int, rel: str) -> tuple[bytes | None, dict | None]:
    """The bytes of a one-document file, or a rejected row (unreadable, cut short, too large)."""
    try:
        with open_part(part.path) as fh:
            data = fh.read(max_record_bytes + 1)
            cut = was_cut(fh)
    except (OSError, EOFError) as e:
        return None, reject_row(part, "not_a_file" if isinstance(e, NotAFile) else "unreadable_file",
                                f"{type(e).__name__}: {e}", rel)
    if cut and len(data) <= max_record_bytes:
        return None, reject_row(part, "truncated_file", f"the gzip stream is cut short after {len(data)} bytes", rel)
    if len(data) > max_record_bytes:
        return None, reject_row(part, "too_large", f"more than {max_record_bytes} bytes", rel)
    return data, None


def read_html_file(part: FilePart, max_record_bytes: int, options: ReaderOptions | None = None) -> Iterator[dict]:
    rel = os.path.relpath(part.path, part.root)
    data, rej = read_whole(part, max_record_bytes, rel)
    if rej:
        yield rej
        return
    html, rej = decoded_html(part, data, None, rel, None)
    if rej:
        yield rej
        return
    yield doc(stable_id("file", rel, content_hash(data)), rel, None, part.path, html=html)
