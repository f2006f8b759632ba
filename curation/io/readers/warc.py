"""WARC reader (``*.warc``, ``*.warc.gz``): response records, lenient (``<uri>`` in angle brackets,
records without dates); a truncated gzip member or record is a ``truncated_file`` row, not fatal; a
record over ``max_record_bytes`` is skipped in chunks (``too_large``), never held whole."""

from __future__ import annotations

import gzip
from datetime import timezone
from typing import Iterator

from curation.ids import stable_id
from curation.io.charset import charset_from_content_type
from curation.io.gz import ForwardSeek, was_cut
from curation.io.readers.common import FilePart, doc, error_reason, id_key, open_part, reject_row
from curation.io.readers.html import decoded_html
from curation.io.readers.options import ReaderOptions

#: A WARC record starts with this at the start of a line (WARC/1.0, WARC/1.1).
_WARC_MAGIC = b"\nWARC/1."
#: Bytes read at a time while skipping a record too large to keep.
_SKIP_CHUNK = 1 << 20


class _Chain(ForwardSeek):
    """``head`` then the rest of ``tail`` (a reader), as one stream."""

    def __init__(self, head: bytes, tail):
        self._head, self._tail = head, tail

    def _read(self, n: int) -> bytes:
        if self._head:
            out, self._head = (self._head, b"") if n < 0 or n >= len(self._head) else (self._head[:n], self._head[n:])
            return out
        return self._tail.read(n) or b""


def _skip_record(reader, declared: int) -> tuple[int, bytes | None]:
    """Read past a record too large to keep, in 1 MiB chunks (never held whole), watching for the
    start of another record inside it: a record that declares more bytes than it has (5 GB) would
    otherwise swallow the records after it. Returns (bytes read, the bytes from the next record's
    start, or None)."""
    size, carry = 0, b""
    while True:
        chunk = reader.read(_SKIP_CHUNK)
        if not chunk:
            return size, None
        window = carry + chunk
        at = window.find(_WARC_MAGIC)
        if at >= 0:
            return size - len(carry) + at + 1, window[at + 1:]
        size += len(chunk)
        carry = window[-(len(_WARC_MAGIC) - 1):]


def read_warc(part: FilePart, max_record_bytes: int, options: ReaderOptions | None = None) -> Iterator[dict]:
    n = [0]
    state = {"cut_reported": False}
    try:
        with open_part(part.path) as fh:
            yield from _warc_records(part, fh, max_record_bytes, n, state)
            if was_cut(fh) and not state["cut_reported"]:
                yield reject_row(part, "truncated_file", f"the gzip stream is cut short after {n[0]} records; "
                                 "the complete records before the cut are kept", part.path, "cut")
    except (EOFError, OSError, gzip.BadGzipFile, ValueError) as e:
        yield reject_row(part, error_reason(e), f"after {n[0]} records: {type(e).__name__}: {e}", part.path, n[0])


def _warc_records(part: FilePart, stream, max_record_bytes: int, n: list, state: dict) -> Iterator[dict]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    for rec in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True):
        n[0] += 1
        url = (rec.headers.get("WARC-Target-URI") or "").strip().strip("<>") or None
        rid = rec.record_id or f"{part.path}#{n[0]}"
        source = f"{part.path}#{n[0]}"
        date = rec.record_date
        fetch_time = date.astimezone(timezone.utc).replace(microsecond=0) if date else None
        http = rec.http_headers
        status = http.status_code if http is not None else None
        ctype = http.get("Content-Type") if http is not None else None
        if rec.content_length > max_record_bytes:
            got, rest = _skip_record(rec.reader, rec.content_length)
            if rest is not None:  # another record starts inside it: this one is cut
                state["cut_reported"] = True
                yield reject_row(part, "truncated_file", f"record {rid} declares {rec.content_length} bytes but "
                                 f"the next record starts after about {got}", url, rid)
                yield from _warc_records(part, _Chain(rest, rec.reader), max_record_bytes, n, state)
            elif got < rec.content_length:
                state["cut_reported"] = True
                yield reject_row(part, "truncated_file", f"record {rid} ends after about {got} of "
                                 f"{rec.content_length} bytes", url, rid)
            else:
                yield reject_row(part, "too_large", f"record {rid} is {rec.content_length} bytes", url, rid)
            continue
        body = rec.reader.read()
        if len(body) < rec.content_length:
            state["cut_reported"] = True
            yield reject_row(part, "truncated_file", f"record {rid} ends after {len(body)} of "
                             f"{rec.content_length} bytes", url, rid)
            continue
        if status is not None and not 200 <= status < 300:
            yield reject_row(part, "http_status", f"HTTP {status}", url, rid)
            continue
        if ctype and not _is_htmlish(ctype):
            yield reject_row(part, "not_html", f"Content-Type {ctype}", url, rid)
            continue
        html, rej = decoded_html(part, body, charset_from_content_type(ctype), url, rid)
        if rej:
            yield rej
            continue
        doc_id = stable_id("warc", id_key(part), rid)
        if _is_plain_text(ctype):
            # a text/plain response (a raw source file, a log) is already text: no HTML to
            # extract (an HTML parser finds no main content in it and drops the page)
            yield doc(doc_id, url, fetch_time, source, text=html)
            continue
        yield doc(doc_id, url, fetch_time, source, html=html)


def _is_plain_text(ctype: str | None) -> bool:
    return bool(ctype) and ctype.split(";")[0].strip().lower() == "text/plain"


def _is_htmlish(ctype: str) -> bool:
    c = ctype.split(";")[0].strip().lower()
    return c in ("", "text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
