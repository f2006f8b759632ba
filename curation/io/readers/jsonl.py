"""JSONL reader (``*.jsonl``, ``*.jsonl.gz``, ``*.json.gz``): one JSON object per line, the keys
named by ``input.reader``; a line longer than ``max_record_bytes`` is skipped in chunks, never held
whole; a line that is not a JSON object is a ``bad_json`` row."""

from __future__ import annotations

import json
from typing import Iterator

from curation.io.gz import was_cut
from curation.io.readers.common import FilePart, error_reason, open_part, reject_row
from curation.io.readers.options import ReaderOptions
from curation.io.readers.rows import row_doc

#: Bytes read at a time while skipping the rest of an over-long JSONL line.
_SKIP_CHUNK = 1 << 20


def bounded_lines(fh, max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
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


def read_jsonl(part: FilePart, max_record_bytes: int, options: ReaderOptions | None = None) -> Iterator[dict]:
    options = options or ReaderOptions()
    n = 0
    try:
        with open_part(part.path) as fh:
            for n, line, size in bounded_lines(fh, max_record_bytes):
                if line is not None and not line.endswith(b"\n") and was_cut(fh):
                    break  # the line the cut went through: reported below, with the cut
                if line is None:
                    yield reject_row(part, "too_large", f"line {n + 1} is {size} bytes "
                                     f"(max_record_bytes {max_record_bytes})", None, n)
                    continue
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise ValueError("not a JSON object")
                except (ValueError, RecursionError) as e:  # bytes not UTF-8, nesting too deep
                    yield reject_row(part, "bad_json", f"line {n + 1}: {e}", None, n)
                    continue
                yield row_doc(part, row, n, max_record_bytes, f"line {n + 1}", options)
            if was_cut(fh):
                yield reject_row(part, "truncated_file", f"the gzip stream is cut short in line {n + 1}; the "
                                 f"{n} complete lines before it are read", part.path, "cut")
    except (EOFError, OSError) as e:
        yield reject_row(part, error_reason(e), f"after line {n}: {type(e).__name__}: {e}", part.path, n)
