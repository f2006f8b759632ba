"""Readers on real files: the bundled WARCs, HTML and JSONL, and broken inputs."""

from __future__ import annotations

import gzip
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.io.sources import InputError, Shard, discover, plan_shards, read_shard


def _read_all(paths, max_bytes=1 << 30, **kw):
    docs, rejects = [], []
    for shard in plan_shards([str(p) for p in paths], max_bytes):
        for b in read_shard(shard, **kw):
            docs.extend(b.docs.to_pylist())
            rejects.extend(b.rejected.to_pylist())
    return docs, rejects


def test_warc_files_read_every_response(sample_dir):
    docs, rejects = _read_all([sample_dir / "warc"])
    by_file = {}
    for d in docs:
        by_file.setdefault(d["source"].split("#")[0].rsplit("/", 1)[-1], []).append(d)
    assert {k: len(v) for k, v in by_file.items()} == {
        "clueweb_ja_shop_pages.warc.gz": 29,
        "commoncrawl_CC-MAIN-2020-34_excerpt.warc.gz": 16,
        "dolma_sample-0000.warc.gz": 22,
    }
    assert rejects == []
    dolma = by_file["dolma_sample-0000.warc.gz"]
    # the dolma WARC writes target URIs in angle brackets; we strip them
    assert all(d["url"].startswith("https://") and not d["url"].endswith(">") for d in dolma)
    assert all(d["fetch_time"] is not None for d in dolma)
    # ClueWeb records have no WARC-Date: kept, with an unknown fetch time
    assert all(d["fetch_time"] is None for d in by_file["clueweb_ja_shop_pages.warc.gz"])
    # the Japanese shop pages are decoded (Shift_JIS or UTF-8 as declared), not mojibake
    assert any("\u30b7" <= ch <= "\u30fc" for d in by_file["clueweb_ja_shop_pages.warc.gz"] for ch in d["html"])


def test_ids_are_stable_and_unique(sample_dir):
    docs1, _ = _read_all([sample_dir])
    docs2, _ = _read_all([sample_dir], max_bytes=200_000)
    ids1 = [d["id"] for d in docs1]
    assert len(set(ids1)) == len(ids1)
    assert ids1 == [d["id"] for d in docs2]  # sharding does not change ids or order


def test_shards_are_bounded(sample_dir):
    import os

    limit = 300_000
    shards = plan_shards([str(sample_dir)], limit)
    assert len(shards) > 5
    for s in shards:
        sizes = [os.path.getsize(p.path) for p in s.parts]
        assert sum(sizes) <= limit or len(s.parts) == 1


def test_text_table_inputs(sample_dir):
    docs, rejects = _read_all([sample_dir / "text"])
    assert len(docs) == 470 and not rejects
    gsm = [d for d in docs if "gsm8k" in d["source"]]
    assert len(gsm) == 300 and all(d["text"] and d["html"] is None for d in gsm)
    ccnet = [d for d in docs if "ccnet" in d["source"]]
    assert all(d["url"] is None and d["fetch_time"] is not None for d in ccnet)  # ccnet id is the URL; `added` is the date


def test_non_utf8_page_is_decoded_with_its_declared_charset(tmp_path, sample_dir):
    html = gzip.open(sample_dir / "html" / "readability" / "heise.html.gz").read().decode("utf-8")
    assert "ü" in html or "ä" in html
    latin = html.replace('charset="utf-8"', 'charset="iso-8859-1"').replace("charset=utf-8", "charset=iso-8859-1")
    (tmp_path / "latin.html").write_bytes(latin.encode("latin-1", errors="replace"))
    docs, rejects = _read_all([tmp_path])
    assert not rejects and len(docs) == 1
    assert "ü" in docs[0]["html"] or "ä" in docs[0]["html"]


def test_non_utf8_page_without_declaration_is_detected(tmp_path):
    text = "<html><body><p>" + "Grüße aus Köln, schöne Übungen für Äpfel. " * 40 + "</p></body></html>"
    (tmp_path / "cp1252.html").write_bytes(text.encode("cp1252"))
    docs, rejects = _read_all([tmp_path])
    assert not rejects and "Grüße aus Köln" in docs[0]["html"]


def test_truncated_warc_keeps_records_before_the_cut_and_names_the_file(tmp_path, sample_dir):
    data = (sample_dir / "warc" / "dolma_sample-0000.warc.gz").read_bytes()
    bad = tmp_path / "truncated.warc.gz"
    bad.write_bytes(data[: len(data) // 2])
    docs, rejects = _read_all([bad])
    assert 0 < len(docs) < 22
    assert len(rejects) == 1
    assert rejects[0]["reason"] == "truncated_file"
    assert str(bad) in rejects[0]["detail"] and rejects[0]["stage"] == "read"


def test_binary_garbage_and_empty_files_become_rejected_rows(tmp_path):
    import random

    rng = random.Random(0)
    (tmp_path / "garbage.html").write_bytes(bytes(rng.randrange(256) for _ in range(20000)))
    (tmp_path / "empty.html").write_bytes(b"")
    (tmp_path / "garbage.warc.gz").write_bytes(gzip.compress(bytes(rng.randrange(256) for _ in range(5000))))
    docs, rejects = _read_all([tmp_path])
    assert docs == []
    reasons = {r["detail"].split(":")[0].rsplit("/", 1)[-1]: r["reason"] for r in rejects}
    assert reasons == {"empty.html": "empty", "garbage.html": "binary_content", "garbage.warc.gz": "unreadable_file"}


def test_corrupt_parquet_is_a_rejected_row_naming_the_file(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"text": ["hello world"] * 3, "url": ["http://a/1", "http://a/2", "http://a/3"]}), good)
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(good.read_bytes()[:-20] + b"garbage-footer!!PAR1")
    docs, rejects = _read_all([tmp_path])
    assert len(docs) == 3
    assert [r["reason"] for r in rejects] == ["unreadable_file"]
    assert str(bad) in rejects[0]["detail"]


def test_jsonl_bad_lines_are_rejected_with_line_numbers(tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text('{"text": "first doc"}\nnot json\n{"text": "third"}\n[1,2]\n')
    docs, rejects = _read_all([p])
    assert [d["text"] for d in docs] == ["first doc", "third"]
    assert [(r["reason"], r["detail"].split(": ")[1]) for r in rejects] == [("bad_json", "line 2"), ("bad_json", "line 4")]


def test_missing_and_unsupported_inputs_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="input not found: .*nope"):
        discover([str(tmp_path / "nope")])
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(InputError, match="no readable inputs"):
        discover([str(tmp_path)])


def test_too_large_record_is_rejected_unread(tmp_path, sample_dir):
    shutil.copy(sample_dir / "html" / "readability" / "wikipedia.html.gz", tmp_path / "w.html.gz")
    docs, rejects = _read_all([tmp_path], max_record_bytes=1000)
    assert docs == [] and rejects[0]["reason"] == "too_large"


def _read_with(paths, options, batch_docs=1000):
    from curation.io.sources import ReaderOptions, read_shard

    docs, rejects = [], []
    for shard in plan_shards([str(p) for p in paths], 1 << 30, ReaderOptions(**options)):
        for b in read_shard(shard, batch_docs):
            docs.append(b.docs)
            rejects += b.rejected.to_pylist()
    return pa.concat_tables(docs) if docs else None, rejects


def test_reader_options_name_the_columns_and_carry_metadata(tmp_path):
    t = pa.table({"content": ["first text", "second text"], "key": ["a", "b"], "link": ["u1", "u2"],
                  "score": [0.5, 0.9], "ignored": ["x", "y"]})
    pq.write_table(t, tmp_path / "t.parquet")
    default, rej = _read_with([tmp_path / "t.parquet"], {})
    assert default.num_rows == 0 and [r["reason"] for r in rej] == ["no_text_column"]  # without options
    docs, rej = _read_with([tmp_path / "t.parquet"], {"text_column": "content", "id_column": "key",
                                                      "url_column": "link", "metadata_columns": ["score"]})
    assert rej == [] and docs.column("text").to_pylist() == ["first text", "second text"]
    assert docs.column("url").to_pylist() == ["u1", "u2"] and docs.column("score").to_pylist() == [0.5, 0.9]
    assert "ignored" not in docs.column_names
    again, _ = _read_with([tmp_path / "t.parquet"], {"text_column": "content", "id_column": "key"}, batch_docs=1)
    assert again.column("id").to_pylist() == docs.column("id").to_pylist()  # ids: the file and the key only


def test_jsonl_metadata_and_a_reserved_name(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"body": "one", "lic": "cc"}\n{"body": "two"}\n')
    docs, rej = _read_with([tmp_path / "d.jsonl"], {"text_column": "body", "metadata_columns": ["lic"]})
    assert docs.column("lic").to_pylist() == ["cc", None] and rej == []
    from pydantic import ValidationError

    from curation.io.sources import ReaderOptions

    with pytest.raises(ValidationError, match="reader writes itself"):
        ReaderOptions(metadata_columns=["url"])


def test_txt_files_one_document_per_file_or_per_blank_line_block(tmp_path):
    (tmp_path / "a.txt").write_text("Para one\nstill one.\n\n  \nPara two.\n")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe not utf-8")
    docs, rej = _read_with([tmp_path], {})
    assert docs.column("text").to_pylist() == ["Para one\nstill one.\n\n  \nPara two.\n"]
    assert docs.column("url").to_pylist() == ["a.txt"] and [r["reason"] for r in rej] == ["undecodable"]
    blocks, _ = _read_with([tmp_path / "a.txt"], {"txt_documents": "blank_line"})
    assert blocks.column("text").to_pylist() == ["Para one\nstill one.", "Para two."]
    assert blocks.column("url").to_pylist() == ["a.txt#1", "a.txt#2"]
    assert len(set(blocks.column("id").to_pylist())) == 2
