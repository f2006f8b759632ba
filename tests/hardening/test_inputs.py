"""Every hostile input becomes rejected rows naming the file (and line or row); the rest is read."""

from __future__ import annotations

import os
from collections import defaultdict

import pyarrow as pa
import pytest

from curation.config import ConfigError, parse_pipeline
from curation.engine.worker import StageFailed, _source_files
from curation.io.charset import decode_page
from curation.io.sources import discover, read_part, read_shard, plan_shards
from tests.hardening.conftest import EXPECTED, MAX_RECORD_BYTES, MOJIBAKE, NON_UTF8_NAME


@pytest.fixture(scope="module")
def rows(hostile_dir):
    """file name -> (documents, rejected rows) of reading the corpus."""
    out = defaultdict(lambda: ([], []))
    for part in discover([str(hostile_dir)]):
        rel = os.path.relpath(part.path, hostile_dir)
        for row in read_part(part, MAX_RECORD_BYTES):
            out[rel][1 if "reason" in row else 0].append(row)
    return out


def test_every_hostile_file_gives_its_rejected_rows(rows):
    got = {name: sorted(r["reason"] for r in rej) for name, (_, rej) in rows.items() if rej}
    assert got == {name: sorted(reasons) for name, reasons in EXPECTED.items()}


def test_rejected_rows_name_the_file_and_the_line_or_row(rows, hostile_dir):
    for name, (_, rejected) in rows.items():
        for r in rejected:
            assert r["stage"] == "read" and r["detail"].startswith(str(hostile_dir)), r
    details = [r["detail"] for r in rows["types.jsonl"][1]]
    assert any("types.jsonl: line 1: 'text' is int" in d for d in details)
    assert any("line 2: 'text' is list" in d for d in details)
    assert any("line 4: 'text' is not valid Unicode" in d for d in details)  # "\ud800"
    assert "int-text.parquet: row 2: 'text' is int" in rows["int-text.parquet"][1][2]["detail"]
    assert "line 1 is 2001066 bytes" in rows["huge-line.jsonl"][1][0]["detail"]
    (bad_name,) = rows[NON_UTF8_NAME][1]
    assert "caf\\xe9-latin1-name.html" in bad_name["detail"] and bad_name["source"].encode("utf-8")
    assert "Too many levels of symbolic links" in rows["loop-a.html"][1][0]["detail"]
    assert "No such file" in rows["dangling.html"][1][0]["detail"]
    assert "of 298 bytes" in rows["truncated.warc"][1][0]["detail"]


def test_good_rows_beside_bad_ones_are_kept(rows):
    urls = lambda name: [d["url"] for d in rows[name][0]]  # noqa: E731
    assert urls("types.jsonl") == ["https://hostile.example/" + u for u in ("nul", "dup-1", "ok")]
    (dup,) = [r for r in rows["types.jsonl"][1] if r["reason"] == "duplicate_id"]
    assert dup["url"] == "https://hostile.example/dup-2" and "record #9 repeats the id" in dup["detail"]
    assert urls("huge-line.jsonl") == ["https://hostile.example/after-big"]
    assert urls("truncated.warc") == ["https://hostile.example/w0", "https://hostile.example/w1"]
    assert len(rows["cut.jsonl.gz"][0]) > 10  # rows before the cut


def test_a_directory_loop_is_not_followed(hostile_dir):
    paths = [p.path for p in discover([str(hostile_dir)])]
    assert not any("dirloop" in p for p in paths)
    assert len(paths) == len(set(os.path.realpath(p) for p in paths if os.path.exists(p))) + 3  # 2 loops, 1 dangling


def test_wrong_declared_charset_is_repaired_not_mojibake(rows):
    (doc,) = [d for d in rows["records.warc"][0] if d["url"].endswith("/mojibake")]
    assert MOJIBAKE in doc["html"] and "Ã" not in doc["html"]
    # the same bytes declared as Latin-1 in a meta tag
    data = ("<html><head><meta charset='iso-8859-1'></head><body>" + MOJIBAKE + "</body></html>").encode()
    assert MOJIBAKE in decode_page(data)[0]
    # real Latin-1 is still read as Latin-1
    latin = ("<html><head><meta charset='iso-8859-1'></head><body>" + "Crème brûlée" + "</body></html>")
    assert "Crème brûlée" in decode_page(latin.encode("latin-1"))[0]


def test_a_whole_shard_of_hostile_files_reads_into_arrow(hostile_dir):
    n_docs = n_rej = 0
    for shard in plan_shards([str(hostile_dir)], 1 << 30):
        for batch in read_shard(shard, 7, MAX_RECORD_BYTES):
            n_docs += batch.docs.num_rows
            n_rej += batch.rejected.num_rows
    assert n_rej == sum(len(v) for v in EXPECTED.values()) and n_docs > 0


def test_a_failing_operator_names_the_file_it_failed_on(hostile_dir, tmp_path):
    """The real chain of a shard worker, with a step that raises on one file's documents."""
    from curation.engine.plan import plan_groups
    from curation.engine.worker import ShardWorker

    cfg = parse_pipeline({"input": {"batch_docs": 3}, "stages": [{"op": "extract", "engine": "resiliparse"}]})
    worker = ShardWorker(cfg.model_dump(mode="json"), str(tmp_path / "run"))
    (shard,) = plan_shards([str(hostile_dir / "records.warc"), str(hostile_dir / "types.jsonl")], 1 << 30)

    def step(table):
        if any("types.jsonl" in s for s in table.column("source").to_pylist()):
            raise ValueError("cannot cope")
        return worker._op(cfg.stages[0]).process(table)

    with pytest.raises(StageFailed, match=r"stage extract failed on documents from .*types\.jsonl: ValueError: cannot cope") as e:
        worker._run_chain(plan_groups(cfg)[0], shard, [("extract", step)])
    assert "records.warc" not in str(e.value)
    assert not list((tmp_path / "run").rglob("*.parquet"))  # nothing committed
    assert _source_files(pa.table({"source": ["/in/a#3", "/in/a#4", "/in/b#1"]})) == "/in/a, /in/b"


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "", "a/b", "..", "has space", "x" * 65, 7])
def test_stage_names_must_be_plain_identifiers(name):
    with pytest.raises(ConfigError, match=r"stages\[1\]\.name: .* must be a plain identifier"):
        parse_pipeline({"stages": [{"op": "extract"}, {"op": "url_dedup", "name": name}]})


def test_unknown_compression_is_a_field_error():
    with pytest.raises(ConfigError, match=r"field 'output.compression'.*unknown Parquet codec 'nonsense'"):
        parse_pipeline({"output": {"compression": "nonsense"}, "stages": [{"op": "extract"}]})
    assert parse_pipeline({"output": {"compression": "ZSTD"}, "stages": [{"op": "extract"}]}).output.compression == "zstd"
