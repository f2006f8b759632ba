"""Issue 20, inputs: document identity across folders, bounded batches of rejected rows, special
files, cut gzip archives, UTF-16 pages, a WARC record that declares more than it holds, and split
Parquet files with an empty row group."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.operators.base import ready
from curation.io.sources import discover, plan_shards, read_part, read_shard
from curation.operators.extract import Extract
from tests.hardening.conftest import page, warc_record


def _read(folder: Path, max_record_bytes: int = 1 << 20) -> tuple[list[dict], list[dict]]:
    docs, rej = [], []
    for part in discover([str(folder)]):
        for row in read_part(part, max_record_bytes):
            (rej if "reason" in row else docs).append(row)
    return docs, rej


def test_same_name_and_id_in_two_folders_are_two_documents(tmp_path):
    for year in ("2023", "2024"):
        (tmp_path / year).mkdir()
        (tmp_path / year / "part-0.jsonl").write_text(
            "\n".join(json.dumps({"id": str(i), "text": f"{year} document {i}"}) for i in range(3)) + "\n")
    docs, rej = _read(tmp_path)
    assert not rej and len(docs) == 6
    assert len({d["id"] for d in docs}) == 6
    again, _ = _read(tmp_path)  # a resumed run reads the same ids
    assert [d["id"] for d in again] == [d["id"] for d in docs]


def test_rejected_rows_are_flushed_in_batches_of_batch_docs(tmp_path):
    (tmp_path / "ints.jsonl.gz").write_bytes(gzip.compress(b'{"text": 1}\n' * 5000))
    (shard,) = plan_shards([str(tmp_path)], 1 << 30)
    batches = list(read_shard(shard, batch_docs=100))
    assert sum(b.rejected.num_rows for b in batches) == 5000
    assert max(b.rejected.num_rows for b in batches) <= 100  # never the whole file's rows in memory


def test_a_text_row_over_extracts_bound_is_too_large():
    op = ready(Extract({"engine": "resiliparse", "max_bytes": 1000}))
    table = pa.table({"id": ["a", "b"], "url": [None, None], "text": ["x" * 1001, "short text"],
                      "html": pa.array([None, None], pa.string())})
    res = op.process(table)
    assert res.kept.column("id").to_pylist() == ["b"]
    assert res.rejected.column("reason").to_pylist() == ["too_large"]


def test_a_fifo_and_a_device_are_not_files_and_the_good_file_is_read(tmp_path):
    os.mkfifo(tmp_path / "a-fifo.jsonl")
    os.symlink("/dev/zero", tmp_path / "b-zero.jsonl")
    (tmp_path / "c-good.jsonl").write_text(json.dumps({"id": "g", "text": "good"}) + "\n")
    (shard,) = plan_shards([str(tmp_path)], 1 << 30)
    (batch,) = list(read_shard(shard))
    assert batch.docs.column("text").to_pylist() == ["good"]
    rej = batch.rejected.to_pylist()
    assert [r["reason"] for r in rej] == ["not_a_file", "not_a_file"]
    assert "a-fifo.jsonl: a FIFO" in rej[0]["detail"] and "b-zero.jsonl: a character device" in rej[1]["detail"]


def _records(n: int) -> list[bytes]:
    return [warc_record(f"https://hostile.example/gz{i}", page(f"Gzip page {i}").encode(), n=i) for i in range(n)]


def test_a_cut_warc_gz_keeps_every_complete_record(tmp_path):
    members = [gzip.compress(r) for r in _records(40)]
    data = b"".join(members)
    (tmp_path / "cut.warc.gz").write_bytes(data[: len(data) - len(members[-1]) // 2])  # last member cut
    docs, rej = _read(tmp_path)
    assert len(docs) == 39
    assert [r["reason"] for r in rej] == ["truncated_file"]


def test_a_cut_jsonl_gz_keeps_every_complete_line(tmp_path):
    text = "\n".join(json.dumps({"id": f"c{i}", "text": f"row {i} " * 50}) for i in range(200)).encode()
    cut = gzip.compress(text)[: 1500]
    (tmp_path / "cut.jsonl.gz").write_bytes(cut)
    present = zlib.decompressobj(wbits=31).decompress(cut)
    complete = present.count(b"\n")
    docs, rej = _read(tmp_path)
    assert complete > 3 and len(docs) == complete
    assert [r["reason"] for r in rej] == ["truncated_file"]


def test_a_cut_html_gz_is_truncated_file(tmp_path):
    data = gzip.compress(page("Cut page", " ".join(f"word{i}" for i in range(3000))).encode())
    (tmp_path / "cut.html.gz").write_bytes(data[: len(data) // 2])
    docs, rej = _read(tmp_path)
    assert not docs and [r["reason"] for r in rej] == ["truncated_file"]


def test_utf16_pages_with_a_bom_are_read(tmp_path):
    text = page("UTF-16 page", "Grüße aus Köln, 日本語のテキスト")
    (tmp_path / "le.html").write_bytes(text.encode("utf-16"))  # BOM + little-endian on this machine
    (tmp_path / "be.html").write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    docs, rej = _read(tmp_path)
    assert not rej and [d["html"] for d in docs] == [text, text]


def test_a_warc_record_declaring_5_gb_does_not_swallow_the_next(tmp_path):
    good = _records(3)
    liar = good[1].replace(b"Content-Length: ", b"Content-Length: 5000000000", 1)
    liar = liar.split(b"Content-Length: 5000000000", 1)
    liar = liar[0] + b"Content-Length: 5000000000\r\n\r\n" + liar[1].split(b"\r\n\r\n", 1)[1]
    (tmp_path / "liar.warc").write_bytes(good[0] + liar + good[2])
    docs, rej = _read(tmp_path)
    assert [d["url"] for d in docs] == ["https://hostile.example/gz0", "https://hostile.example/gz2"]
    assert [r["reason"] for r in rej] == ["truncated_file"] and "declares 49999" in rej[0]["detail"]


def test_an_empty_row_group_adds_no_row_and_row_numbers_are_per_file(tmp_path):
    path = tmp_path / "rg.parquet"
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema) as w:
        for g in range(3):
            w.write_table(pa.table({"id": [f"{g}-{i}" for i in range(50)], "text": [f"t {g} {i} " * 40 for i in range(50)]},
                                   schema=schema))
        w.write_table(schema.empty_table())
    assert pq.ParquetFile(path).metadata.num_row_groups == 4
    shards = plan_shards([str(tmp_path)], 2000)  # a shard per row group
    assert len(shards) == 3
    rows = [r for s in shards for b in read_shard(s) for r in b.docs.to_pylist() + b.rejected.to_pylist()]
    assert len(rows) == 150 and not any("reason" in r and r["reason"] for r in rows)
    assert len({r["source"] for r in rows}) == 150  # rg.parquet#0 .. #149, not #0 three times
