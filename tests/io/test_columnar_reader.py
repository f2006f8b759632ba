"""A Parquet file whose bodies are strings is read as columns (curation/io/readers/columnar.py):
the same batches, documents and rejected rows as the row-by-row path gives the same rows."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.io.readers.options import ReaderOptions
from curation.io.sources import plan_shards, read_shard

MAX_RECORD = 2000


def _rows():
    """Every rule of row_doc: ids given and not, empty rows, a row over the size bound, a repeated
    id, dates in two columns, non-ASCII bodies, metadata of two types."""
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    rows = []
    for i in range(23):
        rows.append({"id": f"d{i}" if i % 4 else None, "url": f"https://ex.org/{i}",
                     "html": f"<p>page {i} caf\u00e9 \u4e2d\u6587</p>" * (i + 1), "text": None,
                     "date": "2024-01-02T03:04:05Z" if i % 3 == 0 else None,
                     "fetch_time": when if i % 5 == 0 else None, "lang": "fr" if i % 2 else None, "n": i})
    rows[3]["html"] = None                       # text only
    rows[3]["text"] = "plain text of row 3"
    rows[7]["html"] = None                       # neither: empty
    rows[11]["html"] = "x" * (MAX_RECORD + 1)    # too_large
    rows[13]["id"] = rows[2]["id"] = "same"      # duplicate_id (row 13 repeats row 2)
    rows[17]["html"] = "<p>" + "\u00e9" * (MAX_RECORD // 2) + "</p>"  # over the bound in UTF-8 bytes only
    return rows


def _write(folder, rows, html_type):
    folder.mkdir()
    schema = pa.schema([("id", pa.string()), ("url", pa.string()), ("html", html_type), ("text", pa.string()),
                        ("date", pa.string()), ("fetch_time", pa.timestamp("us", tz="UTC")), ("lang", pa.string()),
                        ("n", pa.int32())])
    if html_type == pa.binary():
        rows = [{**r, "html": r["html"].encode() if r["html"] is not None else None} for r in rows]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "pages.parquet", row_group_size=6)
    with open(folder / "more.jsonl", "w") as f:  # a shard of both kinds: chunks and dict rows in one batch
        for i in range(4):
            f.write(json.dumps({"id": f"j{i}", "url": f"https://ex.org/j{i}", "html": f"<p>j{i}</p>", "lang": "en",
                                "n": 100 + i}) + "\n")
    return folder


def _batches(folder, batch_docs):
    options = ReaderOptions(metadata_columns=("lang", "n"))
    out = []
    for shard in plan_shards([str(folder)], 1 << 30, options):
        for b in read_shard(shard, batch_docs, MAX_RECORD):
            strip = str(folder)
            docs = [{**d, "source": d["source"].replace(strip, "ROOT")} for d in b.docs.to_pylist()]
            rej = [{**r, "source": r["source"].replace(strip, "ROOT"), "detail": r["detail"].replace(strip, "ROOT"),
                    "id": None} for r in b.rejected.to_pylist()]
            out.append((b.docs.schema, docs, rej, b.docs.column("html").num_chunks))
    return out


@pytest.mark.parametrize("batch_docs", [1, 4, 5, 200])
def test_columns_and_rows_give_the_same_batches(tmp_path, batch_docs):
    rows = _rows()
    columnar = _batches(_write(tmp_path / "a", rows, pa.string()), batch_docs)
    by_row = _batches(_write(tmp_path / "b", rows, pa.binary()), batch_docs)  # binary bodies: row by row
    assert [(s, d, r) for s, d, r, _ in columnar] == [(s, d, r) for s, d, r, _ in by_row]
    assert all(chunks == 1 for *_, chunks in columnar)
    docs = [d for _, ds, _, _ in columnar for d in ds]
    rejected = [r for _, _, rs, _ in columnar for r in rs]
    assert len(docs) + len(rejected) == 23 + 4
    assert sorted(r["reason"] for r in rejected) == ["duplicate_id", "empty", "too_large", "too_large"]
    row = {d["source"].rsplit("/", 1)[-1]: d for d in docs}
    assert row["pages.parquet#0"]["fetch_time"] == dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)  # 1st set
    assert row["pages.parquet#3"]["text"] == "plain text of row 3" and row["pages.parquet#3"]["html"] is None
    assert row["more.jsonl#0"]["n"] == 100 and row["pages.parquet#1"]["lang"] == "fr"
    assert columnar[0][0].field("n").type == pa.int64()  # metadata typed by its values, as row by row


def test_a_string_column_that_is_not_utf8_is_the_same_unreadable_file(tmp_path):
    """Parquet does not check UTF-8: such a row group goes the row path, which names the file."""
    bad = b"<p>caf\xe9</p>"
    html = pa.Array.from_buffers(pa.string(), 1, [None, pa.array([0, len(bad)], pa.int32()).buffers()[1],
                                                  pa.py_buffer(bad)])
    pq.write_table(pa.table({"id": ["a"], "html": html}), tmp_path / "bad.parquet")
    batches = list(read_shard(plan_shards([str(tmp_path)], 1 << 30)[0]))
    rejected = [r for b in batches for r in b.rejected.to_pylist()]
    assert sum(b.docs.num_rows for b in batches) == 0
    assert [r["reason"] for r in rejected] == ["unreadable_file"]
    assert "bad.parquet" in rejected[0]["detail"] and "UnicodeDecodeError" in rejected[0]["detail"]
