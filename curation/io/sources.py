"""Find input files, cut them into shards of bounded size, and read a shard as document batches.

Supported inputs (a path may be a file or a folder, searched recursively, in sorted order):

* WARC: ``*.warc``, ``*.warc.gz`` (response records; lenient: ``<uri>`` in angle brackets,
  records without dates, truncated gzip members are reported, not fatal).
* HTML files: ``*.html``, ``*.htm``, ``*.html.gz``, ``*.htm.gz``.
* Tables: ``*.parquet`` and ``*.jsonl``/``*.jsonl.gz``/``*.json.gz`` with an ``html`` or
  ``text`` column, optional ``id``, ``url`` and a date column (``fetch_time``, ``date``,
  ``added`` or ``created``).

A shard is a list of file parts whose total size stays under ``max_bytes`` (a Parquet file larger
than that is split by row groups; other files are never split, so one huge WARC is one shard).
Reading never raises for bad content: it yields rejected rows (stage ``read``) naming the file
and the line, row or record - a value of the wrong type (``bad_type``), a string that is not
Unicode (a lone surrogate) or a file name that is not UTF-8 (``undecodable``), a record over
``max_record_bytes`` (``too_large``, JSONL lines included, never read whole), a file that cannot
be opened (a symlink loop, a dangling symlink: ``unreadable_file``), a file that holds no record
(``empty``), a WARC record cut short (``truncated_file``), a record whose id repeats an earlier
one of the same file (``duplicate_id``). An unexpected error inside a reader
also becomes an ``unreadable_file`` row for that file, and the rest of the shard is read.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from curation import schema
from curation.ids import content_hash, stable_id
from curation.io import fs as fsx
from curation.io.charset import DecodeError, charset_from_content_type, decode_page
from curation.io.gz import ForwardSeek, open_gzip, was_cut

READ_STAGE = "read"

_KINDS = (
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
)
_DATE_COLUMNS = ("fetch_time", "date", "added", "created")


class InputError(ValueError):
    """A user-facing problem with the inputs (missing path, nothing to read)."""


def file_kind(path: str) -> str | None:
    low = path.lower()
    for suffix, kind in _KINDS:
        if low.endswith(suffix):
            return kind
    return None


@dataclass(frozen=True)
class FilePart:
    path: str
    kind: str
    root: str  # the input path it was found under; urls of bare HTML files are relative to it
    row_groups: tuple[int, ...] | None = None  # Parquet only: which row groups


@dataclass(frozen=True)
class Shard:
    index: int
    parts: tuple[FilePart, ...]

    @property
    def name(self) -> str:
        return schema.SHARD_NAME.format(self.index)


def file_size(path: str) -> int:
    """Size on disk, 0 for a file that cannot be examined (a dangling symlink, a symlink loop):
    it is still planned, and reading it gives an ``unreadable_file`` row."""
    try:
        return fsx.size(path)
    except OSError:
        return 0


def display_path(path: str) -> str:
    """``path`` as valid UTF-8 text: bytes of a file name that are not UTF-8 (which Python keeps
    as lone surrogates) are shown as ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def discover(paths: list[str]) -> list[FilePart]:
    found: list[FilePart] = []
    for given in paths:
        if fsx.is_uri(given) and not fsx.is_local(given):
            found.extend(_discover_uri(given))
            continue
        if given.startswith("file://"):
            given = fsx.resolve(given)[1]
        if not os.path.exists(given):
            raise InputError(f"input not found: {given}")
        root = os.path.abspath(given)
        if os.path.isfile(given):
            kind = file_kind(given)
            if kind is None:
                raise InputError(f"unsupported input file type: {given}")
            found.append(FilePart(root, kind, os.path.dirname(root)))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                kind = file_kind(fn)
                if kind:
                    found.append(FilePart(os.path.join(dirpath, fn), kind, root))
    if not found:
        raise InputError(f"no readable inputs (WARC, HTML, Parquet, JSONL) under: {', '.join(paths)}")
    return found


# -- files on any filesystem (curation.io.fs): listing, sizes, opening --------------------------


def _discover_uri(given: str) -> list[FilePart]:
    """Input files under a URI (``s3://bucket/prefix/``, ``gs://...``), in sorted order."""
    fs, path = fsx.resolve(given)
    info = fsx.info(fs, path)
    if info.type == fsx.pafs.FileType.NotFound:
        raise InputError(f"input not found: {given}")
    if info.type == fsx.pafs.FileType.File:
        kind = file_kind(path)
        if kind is None:
            raise InputError(f"unsupported input file type: {given}")
        return [FilePart(given, kind, given.rsplit("/", 1)[0])]
    root = given.rstrip("/")
    out = []
    for i in fsx.files(fs, path, recursive=True):
        kind = file_kind(i.path)
        if kind:
            out.append(FilePart(root + "/" + i.path[len(path):].lstrip("/"), kind, root))
            fsx.remember_size(out[-1].path, i.size)
    return out


class NotAFile(OSError):
    """A path that is not a regular file (a FIFO, a device, a socket): never read."""


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _open_local(path: str):
    """Open a local regular file without blocking: a FIFO opened for reading waits for a writer
    (forever), a device (``/dev/zero``) never ends, so the type is checked on the open descriptor."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(f"{_file_type(mode)}, not a regular file: only regular files are read")
        if hasattr(os, "O_NONBLOCK"):
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _open(path: str):
    """A binary file object for a local path or URI, decompressed when the name ends in .gz (a cut
    gzip stream ends early instead of raising: :func:`curation.io.gz.was_cut` tells)."""
    gz = path.lower().endswith(".gz")
    raw = _open_local(path) if not fsx.is_uri(path) else io.BufferedReader(fsx.open_binary(path), 1 << 20)
    return open_gzip(raw) if gz else raw


def not_a_file(path: str) -> str | None:
    """Why a local ``path`` is not read (a FIFO, a device, a socket), or None for a regular file
    (and for one that cannot be examined: opening it gives the OS error)."""
    if fsx.is_uri(path):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else f"{_file_type(mode)}, not a regular file: only regular files are read"


def id_key(part: "FilePart") -> str:
    """What a document id is made from: the file's path relative to its input root (so
    ``2023/part-0.jsonl`` and ``2024/part-0.jsonl`` differ), the same on a resumed run."""
    if fsx.is_uri(part.path) and part.path.startswith(part.root.rstrip("/") + "/"):
        return part.path[len(part.root.rstrip("/")) + 1:]
    try:
        return os.path.relpath(part.path, part.root)
    except ValueError:
        return part.path


def _split_parquet(part: FilePart, max_bytes: int) -> list[FilePart]:
    try:
        meta = fsx.parquet_file(part.path).metadata
    except Exception:
        return [part]  # reported as unreadable when read
    groups, size, out = [], 0, []
    for i in range(meta.num_row_groups):
        if meta.row_group(i).num_rows == 0 and meta.num_rows > 0:
            continue  # an empty row group holds no document (and must not become an `empty` part)
        rg = meta.row_group(i).total_byte_size
        if groups and size + rg > max_bytes:
            out.append(FilePart(part.path, part.kind, part.root, tuple(groups)))
            groups, size = [], 0
        groups.append(i)
        size += rg
    if groups or not out:
        out.append(FilePart(part.path, part.kind, part.root, tuple(groups)))
    return out


def plan_shards(paths: list[str], max_bytes: int) -> list[Shard]:
    """Deterministic shard plan: the same inputs give the same shards, whatever the workers."""
    parts: list[FilePart] = []
    for part in discover(paths):
        if part.kind == "parquet" and file_size(part.path) > max_bytes:
            parts.extend(_split_parquet(part, max_bytes))
        else:
            parts.append(part)
    shards: list[list[FilePart]] = []
    size = 0
    for part in parts:
        psize = file_size(part.path)
        if part.row_groups is not None and len(part.row_groups) < _num_row_groups(part.path):
            psize = max_bytes  # a split Parquet file fills its own shard
        if not shards or size + psize > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(part)
        size += psize
    return [Shard(i, tuple(p)) for i, p in enumerate(shards)]


def _num_row_groups(path: str) -> int:
    try:
        return fsx.parquet_file(path).metadata.num_row_groups
    except Exception:
        return 0


# --------------------------------------------------------------------------------------------
# reading


def _reject_row(part: FilePart, reason: str, detail: str, url: str | None = None, key=None) -> dict:
    path = display_path(part.path)
    return {
        schema.ID: stable_id("reject", part.path, str(key), reason),
        schema.URL: _text_or_none(url),
        schema.SOURCE: path,
        schema.STAGE: READ_STAGE,
        schema.REASON: reason,
        schema.DETAIL: display_path(f"{path}: {detail}"),
    }


def _text_or_none(value) -> str | None:
    """A string that Arrow can store (valid Unicode), else None."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return None


def _doc(doc_id, url, fetch_time, source, html=None, text=None) -> dict:
    return {
        schema.ID: doc_id,
        schema.URL: url,
        schema.FETCH_TIME: fetch_time,
        schema.SOURCE: source,
        schema.HTML: html,
        schema.TEXT: text,
    }


def _decoded_html(part: FilePart, data: bytes, declared: str | None, url, key):
    """Return (html, None) or (None, reject row)."""
    if not data.strip():
        return None, _reject_row(part, "empty", "no content", url, key)
    try:
        html, _ = decode_page(data, declared)
        return html, None
    except DecodeError as e:
        return None, _reject_row(part, e.reason, e.detail, url, key)


#: A WARC record starts with this at the start of a line (WARC/1.0, WARC/1.1).
_WARC_MAGIC = b"\nWARC/1."


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


def _read_warc(part: FilePart, max_record_bytes: int) -> Iterator[dict]:
    n = [0]
    state = {"cut_reported": False}
    try:
        with _open(part.path) as fh:
            yield from _warc_records(part, fh, max_record_bytes, n, state)
            if was_cut(fh) and not state["cut_reported"]:
                yield _reject_row(part, "truncated_file", f"the gzip stream is cut short after {n[0]} records; "
                                  "the complete records before the cut are kept", part.path, "cut")
    except (EOFError, OSError, gzip.BadGzipFile, ValueError) as e:
        reason = "truncated_file" if isinstance(e, EOFError) else "unreadable_file"
        if isinstance(e, NotAFile):
            reason = "not_a_file"
        yield _reject_row(part, reason, f"after {n[0]} records: {type(e).__name__}: {e}", part.path, n[0])


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
                yield _reject_row(part, "truncated_file", f"record {rid} declares {rec.content_length} bytes but "
                                  f"the next record starts after about {got}", url, rid)
                yield from _warc_records(part, _Chain(rest, rec.reader), max_record_bytes, n, state)
            elif got < rec.content_length:
                state["cut_reported"] = True
                yield _reject_row(part, "truncated_file", f"record {rid} ends after about {got} of "
                                  f"{rec.content_length} bytes", url, rid)
            else:
                yield _reject_row(part, "too_large", f"record {rid} is {rec.content_length} bytes", url, rid)
            continue
        body = rec.reader.read()
        if len(body) < rec.content_length:
            state["cut_reported"] = True
            yield _reject_row(part, "truncated_file", f"record {rid} ends after {len(body)} of "
                              f"{rec.content_length} bytes", url, rid)
            continue
        if status is not None and not 200 <= status < 300:
            yield _reject_row(part, "http_status", f"HTTP {status}", url, rid)
            continue
        if ctype and not _is_htmlish(ctype):
            yield _reject_row(part, "not_html", f"Content-Type {ctype}", url, rid)
            continue
        html, rej = _decoded_html(part, body, charset_from_content_type(ctype), url, rid)
        if rej:
            yield rej
            continue
        doc_id = stable_id("warc", id_key(part), rid)
        if _is_plain_text(ctype):
            # a text/plain response (a raw source file, a log) is already text: no HTML to
            # extract (an HTML parser finds no main content in it and drops the page)
            yield _doc(doc_id, url, fetch_time, source, text=html)
            continue
        yield _doc(doc_id, url, fetch_time, source, html=html)


def _is_plain_text(ctype: str | None) -> bool:
    return bool(ctype) and ctype.split(";")[0].strip().lower() == "text/plain"


def _is_htmlish(ctype: str) -> bool:
    c = ctype.split(";")[0].strip().lower()
    return c in ("", "text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")


def _read_html_file(part: FilePart, max_record_bytes: int) -> Iterator[dict]:
    rel = os.path.relpath(part.path, part.root)
    try:
        with _open(part.path) as fh:
            data = fh.read(max_record_bytes + 1)
            cut = was_cut(fh)
    except (OSError, EOFError) as e:
        yield _reject_row(part, "not_a_file" if isinstance(e, NotAFile) else "unreadable_file",
                          f"{type(e).__name__}: {e}", rel)
        return
    if cut and len(data) <= max_record_bytes:
        yield _reject_row(part, "truncated_file", f"the gzip stream is cut short after {len(data)} bytes", rel)
        return
    if len(data) > max_record_bytes:
        yield _reject_row(part, "too_large", f"more than {max_record_bytes} bytes", rel)
        return
    html, rej = _decoded_html(part, data, None, rel, None)
    if rej:
        yield rej
        return
    yield _doc(stable_id("file", rel, content_hash(data)), rel, None, part.path, html=html)


def _row_doc(part: FilePart, row: dict, n: int, max_record_bytes: int, where: str) -> dict:
    """A document from a table row (``where`` says "line 12" or "row 12"), or a rejected row."""
    html, text = row.get("html"), row.get("text")
    url = _text_or_none(row.get("url"))
    if html is None and text is None:
        return _reject_row(part, "empty", f"{where} has neither html nor text", url, n)
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    for column, value in (("html", html), ("text", text)):
        if value is not None and not isinstance(value, str):
            return _reject_row(part, "bad_type", f"{where}: '{column}' is {type(value).__name__}, not a string",
                               url, n)
    body = html if html is not None else text
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, e.g. JSON "\ud800"
        return _reject_row(part, "undecodable", f"{where}: '{'html' if html is not None else 'text'}' is not "
                           f"valid Unicode: {e.reason} at character {e.start}", url, n)
    if len(data) > max_record_bytes:
        return _reject_row(part, "too_large", f"{where} is {len(data)} bytes (max_record_bytes {max_record_bytes})",
                           url, n)
    if html is not None and text is not None and _text_or_none(text) is None:
        text = None  # the html is what is read; an unusable text column beside it is dropped
    given = row.get("id")
    name = id_key(part)
    doc_id = stable_id("row", name, str(given)) if given is not None else stable_id(
        "row", name, url, content_hash(data)
    )
    return _doc(doc_id, url, _parse_time(_first_date(row)), f"{part.path}#{n}", html=html, text=text)


def _first_date(row: dict):
    for c in _DATE_COLUMNS:
        if row.get(c) is not None:
            return row[c]
    return None


def _parse_time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).replace(microsecond=0)


def _read_parquet(part: FilePart, max_record_bytes: int) -> Iterator[dict]:
    try:
        pf = fsx.parquet_file(part.path)
        names = pf.schema_arrow.names
        if "html" not in names and "text" not in names:
            yield _reject_row(part, "no_text_column", f"columns {names} have neither html nor text", part.path)
            return
        cols = [c for c in ("id", "url", "html", "text", *_DATE_COLUMNS) if c in names]
        groups = part.row_groups if part.row_groups is not None else range(pf.metadata.num_row_groups)
        first = [0]  # row numbers count over the whole file, whatever part of it this is
        for g in range(pf.metadata.num_row_groups):
            first.append(first[-1] + pf.metadata.row_group(g).num_rows)
        for g in groups:
            n = first[g]
            for row in pf.read_row_group(g, columns=cols).to_pylist():
                yield _row_doc(part, row, n, max_record_bytes, f"row {n}")
                n += 1
    except Exception as e:  # corrupt footer, bad page, wrong magic
        yield _reject_row(part, "unreadable_file", f"{type(e).__name__}: {e}", part.path)


#: Bytes read at a time while skipping the rest of an over-long JSONL line.
_SKIP_CHUNK = 1 << 20


def _bounded_lines(fh, max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """``(index, line, size)`` for each line of ``fh``; a line longer than ``max_bytes`` is
    skipped in chunks, never held whole, and comes as ``(index, None, size)``."""
    n = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:
                chunk = fh.readline(_SKIP_CHUNK)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield n, None, size
        else:
            yield n, line, len(line)
        n += 1


def _read_jsonl(part: FilePart, max_record_bytes: int) -> Iterator[dict]:
    n = 0
    try:
        with _open(part.path) as fh:
            for n, line, size in _bounded_lines(fh, max_record_bytes):
                if line is not None and not line.endswith(b"\n") and was_cut(fh):
                    break  # the line the cut went through: reported below, with the cut
                if line is None:
                    yield _reject_row(part, "too_large", f"line {n + 1} is {size} bytes "
                                      f"(max_record_bytes {max_record_bytes})", None, n)
                    continue
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise ValueError("not a JSON object")
                except (ValueError, RecursionError) as e:  # bytes not UTF-8, nesting too deep
                    yield _reject_row(part, "bad_json", f"line {n + 1}: {e}", None, n)
                    continue
                yield _row_doc(part, row, n, max_record_bytes, f"line {n + 1}")
            if was_cut(fh):
                yield _reject_row(part, "truncated_file", f"the gzip stream is cut short in line {n + 1}; the "
                                  f"{n} complete lines before it are read", part.path, "cut")
    except (EOFError, OSError) as e:
        reason = "truncated_file" if isinstance(e, EOFError) else "unreadable_file"
        if isinstance(e, NotAFile):
            reason = "not_a_file"
        yield _reject_row(part, reason, f"after line {n}: {type(e).__name__}: {e}", part.path, n)


_READERS = {"warc": _read_warc, "html": _read_html_file, "parquet": _read_parquet, "jsonl": _read_jsonl}


@dataclass
class ReadBatch:
    docs: pa.Table
    rejected: pa.Table


_REJECT_SCHEMA = pa.schema(
    [pa.field(schema.ID, pa.string()), pa.field(schema.URL, pa.string()), pa.field(schema.SOURCE, pa.string())]
    + schema.REJECT_FIELDS
)


def read_part(part: FilePart, max_record_bytes: int = 64 << 20) -> Iterator[dict]:
    """Every row of one file (part): documents, and rejected rows (they have a ``reason``). A file
    name that is not UTF-8, a file with no record, or an error inside the reader, is a rejected row."""
    if display_path(part.path) != part.path:
        yield _reject_row(part, "undecodable", "file name is not valid UTF-8; rename the file to read it")
        return
    why = not_a_file(part.path)
    if why:
        yield _reject_row(part, "not_a_file", why)
        return
    rows = 0
    seen: set[str] = set()  # ids of this file's documents: a repeated one is rejected
    try:
        for row in _READERS[part.kind](part, max_record_bytes):
            rows += 1
            if schema.REASON not in row:
                if row[schema.ID] in seen:
                    where = row[schema.SOURCE].rsplit("#", 1)[-1]
                    row = _reject_row(part, "duplicate_id", f"record #{where} repeats the id of an earlier "
                                      f"record of this file", row[schema.URL], row[schema.SOURCE])
                else:
                    seen.add(row[schema.ID])
            yield row
    except Exception as e:  # a reader bug or a library error on a hostile file: this file only
        rows += 1
        yield _reject_row(part, "unreadable_file", f"after {rows - 1} rows: {type(e).__name__}: {e}", None, "error")
    if not rows:
        yield _reject_row(part, "empty", "no records" + (" (0-byte file)" if file_size(part.path) == 0 else ""))


def read_shard(shard: Shard, batch_docs: int = 1000, max_record_bytes: int = 64 << 20) -> Iterator[ReadBatch]:
    """Yield the shard's documents in batches of at most ``batch_docs`` rows."""
    docs: list[dict] = []
    rejects: list[dict] = []
    for part in shard.parts:
        for row in read_part(part, max_record_bytes):
            (rejects if schema.REASON in row else docs).append(row)
            if len(docs) >= batch_docs or len(rejects) >= batch_docs:  # rejected rows count too: memory
                yield _batch(docs, rejects)
                docs, rejects = [], []
    if docs or rejects:
        yield _batch(docs, rejects)


def _batch(docs: list[dict], rejects: list[dict]) -> ReadBatch:
    return ReadBatch(
        pa.Table.from_pylist(docs, schema=schema.DOC_SCHEMA),
        pa.Table.from_pylist(rejects, schema=_REJECT_SCHEMA),
    )
