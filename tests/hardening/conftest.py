"""A hostile corpus, built in the test: what real crawls and careless users hand a pipeline.

Every file's documents have URLs under ``hostile.example`` (never the sample's), so mixing the
corpus with the sample changes nothing for the sample's documents. ``EXPECTED`` lists, per file,
the reject reasons of the ``read`` stage that reading it must give.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

#: Records over this many bytes are rejected at read time in the hardening pipeline (the
#: sample's largest record is 0.9 MB).
MAX_RECORD_BYTES = 2_000_000
NON_UTF8_NAME = os.fsdecode(b"caf\xe9-latin1-name.html")
GOOD_PAGE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
             "<p>{body}</p><p>Second paragraph of {title}, long enough for an extractor to keep it as the "
             "main content of the page, with several sentences. It says nothing of note.</p>"
             "</article></body></html>")
MOJIBAKE = "Café crème, naïve résumé — “quoted” façade"

#: file (relative to the corpus folder) -> read-stage reasons it must give
EXPECTED: dict[str, list[str]] = {
    "types.jsonl": ["bad_type", "bad_type", "bad_type", "undecodable", "bad_json", "bad_json", "bad_json",
                    "duplicate_id", "bad_json", "bad_json"],
    "huge-line.jsonl": ["too_large"],
    "int-text.parquet": ["bad_type", "bad_type", "bad_type"],
    NON_UTF8_NAME: ["undecodable"],
    "loop-a.html": ["unreadable_file"],
    "loop-b.html": ["unreadable_file"],
    "dangling.html": ["unreadable_file"],
    "truncated.warc": ["truncated_file"],
    "records.warc": ["not_html", "not_html", "http_status"],
    "zero.warc": ["empty"],
    "zero.warc.gz": ["empty"],
    "zero.jsonl": ["empty"],
    "nul-bytes.html": ["binary_content"],
    "bomb.html.gz": ["too_large"],
    "not-gzip.html.gz": ["unreadable_file"],
    "corrupt.parquet": ["unreadable_file"],
    "cut.jsonl.gz": ["truncated_file"],
}


def page(title: str, body: str = "A hostile corpus page.") -> str:
    return GOOD_PAGE.format(title=title, body=body)


def warc_record(url: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK",
                n: int = 0) -> bytes:
    http = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
            f"WARC-Target-URI: {url}\r\nWARC-Date: 2024-01-0{n % 9 + 1}T00:00:00Z\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n")
    return head.encode() + http + b"\r\n\r\n"


def build(root: Path) -> Path:
    """Write the hostile corpus under ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    w = lambda name, data: (root / name).write_bytes(data)  # noqa: E731
    lines = [
        json.dumps({"id": "t-int", "url": "https://hostile.example/int", "text": 42}),
        json.dumps({"id": "t-list", "url": "https://hostile.example/list", "text": ["a", "b"]}),
        json.dumps({"id": "t-dict", "url": "https://hostile.example/dict", "html": {"a": 1}}),
        '{"id": "t-surrogate", "url": "https://hostile.example/surrogate", "text": "lone \\ud800 surrogate"}',
        "[1, 2, 3]",
        '{"id": "t-broken", "text": "no closing brace"',
        b'{"id": "t-latin1", "text": "caf\xe9"}'.decode("latin-1"),  # written as UTF-8 below: fixed later
        json.dumps({"id": "t-nul", "url": "https://hostile.example/nul", "text": "text with a NUL \u0000 inside it"}),
        json.dumps({"id": "t-dup", "url": "https://hostile.example/dup-1", "text": "a duplicate id, first"}),
        json.dumps({"id": "t-dup", "url": "https://hostile.example/dup-2", "text": "a duplicate id, second"}),
        json.dumps({"id": "t-ok", "url": "https://hostile.example/ok", "text": "A plain good row among bad ones."}),
        '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}",  # nesting deeper than the JSON parser goes
        '{"id": "t-digits", "text": ' + "7" * 5000 + "}",  # an integer too long to convert
        "",
    ]
    data = "\n".join(lines).encode("utf-8")
    data = data.replace(b'"caf\xc3\xa9"', b'"caf\xe9"')  # a line whose bytes are not UTF-8: bad_json
    w("types.jsonl", data)
    w("huge-line.jsonl", json.dumps({"id": "h-big", "url": "https://hostile.example/big",
                                     "text": "x" * (MAX_RECORD_BYTES + 1000)}).encode() + b"\n"
      + json.dumps({"id": "h-after", "url": "https://hostile.example/after-big", "text": "kept"}).encode() + b"\n")
    pq.write_table(pa.table({"id": ["p1", "p2", "p3"], "url": [f"https://hostile.example/p{i}" for i in range(3)],
                             "text": pa.array([1, 2, 3], pa.int64())}), root / "int-text.parquet")
    (root / NON_UTF8_NAME).write_bytes(page("Latin-1 file name").encode())
    os.symlink("loop-b.html", root / "loop-a.html")
    os.symlink("loop-a.html", root / "loop-b.html")
    os.symlink("nowhere.html", root / "dangling.html")
    (root / "dirloop").mkdir()
    os.symlink("..", root / "dirloop" / "up")  # a directory loop: not followed
    recs = [warc_record(f"https://hostile.example/w{i}", page(f"WARC page {i}").encode(), n=i) for i in range(3)]
    full = b"".join(recs)
    w("truncated.warc", full[: len(full) - len(recs[-1]) // 2])  # two whole records, then half of one
    w("records.warc", b"".join([
        warc_record("https://hostile.example/pdf", b"%PDF-1.4 not a page", "application/pdf", n=10),
        warc_record("https://hostile.example/png", b"\x89PNG\r\n\x1a\n", "image/png", n=11),
        warc_record("https://hostile.example/404", page("Not found").encode(), status="404 Not Found", n=12),
        warc_record("https://hostile.example/no-body", b"<html><head><title>no body</title></head></html>", n=13),
        warc_record("https://hostile.example/mojibake", page("Wrong charset", MOJIBAKE).encode("utf-8"),
                    "text/html; charset=iso-8859-1", n=14),
        warc_record("https://hostile.example/one-line", page("One line", "word " * 150_000).encode(), n=15),
    ]))
    w("zero.warc", b"")
    w("zero.warc.gz", b"")
    w("zero.jsonl", b"")
    w("nul-bytes.html", b"<html><body>\x00\x00\x00" + b"\x00binary" * 100 + b"</body></html>")
    w("bomb.html.gz", gzip.compress(b"<p>" + b"a" * (20 * MAX_RECORD_BYTES), 9))
    w("not-gzip.html.gz", page("Not gzip at all").encode())
    w("corrupt.parquet", b"PAR1" + os.urandom(200) + b"PAR1")
    cut = gzip.compress("\n".join(json.dumps({"id": f"c{i}", "url": f"https://hostile.example/c{i}",
                                              "text": f"row {i} " * 50}) for i in range(200)).encode())
    w("cut.jsonl.gz", cut[: len(cut) // 2])
    return root


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("hostile") / "corpus")
