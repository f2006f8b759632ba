"""Plain-text reader (``*.txt``, ``*.txt.gz``): one document per file, or, with
``input.reader.txt_documents: blank_line``, one per block of lines between blank lines. The text
must be UTF-8 (a BOM is dropped); its url is the path relative to the input folder (with
``#<block>`` per block), its id a hash of that path and the text, so ids do not depend on workers."""

from __future__ import annotations

import os
import re
from typing import Iterator

from curation.ids import content_hash, stable_id
from curation.io.readers.common import FilePart, doc, reject_row
from curation.io.readers.html import read_whole
from curation.io.readers.options import ReaderOptions

_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def split_blocks(text: str) -> list[str]:
    """The blocks of ``text`` between blank lines (a line of only whitespace is blank), stripped;
    empty blocks dropped."""
    return [b.strip() for b in _BLANK_LINES.split(text.replace("\r\n", "\n")) if b.strip()]


def read_text_file(part: FilePart, max_record_bytes: int, options: ReaderOptions | None = None) -> Iterator[dict]:
    options = options or ReaderOptions()
    rel = os.path.relpath(part.path, part.root)
    data, rej = read_whole(part, max_record_bytes, rel)
    if rej:
        yield rej
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        yield reject_row(part, "undecodable", f"not UTF-8 text: {e.reason} at byte {e.start}", rel)
        return
    if not text.strip():
        yield reject_row(part, "empty", "no text", rel)
        return
    if options.txt_documents == "file":
        yield doc(stable_id("txt", rel, content_hash(data)), rel, None, part.path, text=text)
        return
    for i, block in enumerate(split_blocks(text)):
        url = f"{rel}#{i + 1}"
        yield doc(stable_id("txt", url, content_hash(block.encode("utf-8"))), url, None, f"{part.path}#{i + 1}",
                  text=block)
