"""The token file and index formats: round trips (local memory map and ranged reads on another
filesystem), dtype choice, the run package's token paths."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curation.tokens import format as tfmt
from curation.tokens.index import IndexParts, sort_part, to_index
from curation.run.tokens import TokenLayout
from curation.tokens.order import longest_run, occurrence_keys


@pytest.mark.parametrize("vocab, name", [(8192, "uint16"), (65536, "uint16"), (65537, "uint32"), (128256, "uint32")])
def test_dtype_is_the_smallest_that_holds_the_vocabulary(vocab, name):
    dt = tfmt.dtype_for(vocab)
    assert tfmt.dtype_name(dt) == name and dt.byteorder in ("<", "=", "|") and np.iinfo(dt).max >= vocab - 1
    assert tfmt.parse_dtype(name) == dt


@pytest.mark.parametrize("vocab", [8192, 128256])
@pytest.mark.parametrize("where", ["local", "memory"])
def test_token_file_round_trip(tmp_path, vocab, where):
    """Written whole through the run package's commit; read back by memory map on local disk and by
    ranged reads on any other filesystem (fsspec's ``memory://`` here; S3: tests/run/test_s3_run.py)."""
    dt = tfmt.dtype_for(vocab)
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, vocab, n) for n in (5, 1, 300, 17)]
    off = np.concatenate([[0], np.cumsum([len(d) for d in docs])])
    lay = TokenLayout(str(tmp_path) if where == "local" else f"memory://tokens-test/{tmp_path.name}-{vocab}")
    rel = lay.write_file("mix", 0, tfmt.to_bytes(np.concatenate(docs), dt))
    assert rel == "tokens/mix/shard-00000.bin"
    m = tfmt.TokenFile(lay.fs, lay.path(rel), dt)
    assert len(m) == off[-1] and (m._map is not None) == (where == "local")
    for i, d in enumerate(docs):
        assert np.array_equal(m.read(off[i], len(d)), d)
    # little-endian on disk whatever the machine
    with lay.fs.open_input_file(lay.path(rel)) as f:
        raw = f.read(dt.itemsize)
    assert int.from_bytes(raw, "little") == docs[0][0]
    with pytest.raises(ValueError, match="outside the file"):
        m.read(int(off[-1]) - 1, 2)


def test_out_of_range_ids_and_missing_files_are_errors(tmp_path):
    from pyarrow import fs as pafs

    with pytest.raises(ValueError, match="out of range"):
        tfmt.to_bytes(np.array([70000]), tfmt.dtype_for(8192))
    with pytest.raises(FileNotFoundError, match="token file missing"):
        tfmt.TokenFile(pafs.LocalFileSystem(), str(tmp_path / "nope.bin"), tfmt.dtype_for(8192))
    with pytest.raises(ValueError, match="unknown token dtype"):
        tfmt.parse_dtype("int8")


def test_layout_names_sort_by_key_and_stay_inside_the_run(tmp_path):
    lay = TokenLayout(tmp_path)
    assert lay.bin_rel("mix", 7) == "tokens/mix/shard-00007.bin"
    names = [lay.index_part_rel("anneal", k) for k in (2**63, 5, 2**40)]
    assert sorted(names) == [lay.index_part_rel("anneal", k) for k in (5, 2**40, 2**63)]
    assert lay.path(lay.bin_rel("mix", 7)) == str(tmp_path.resolve() / "tokens" / "mix" / "shard-00007.bin")
    with pytest.raises(ValueError):
        lay.path("../outside.bin")
    with pytest.raises(ValueError):
        lay.path("/etc/passwd")
    with pytest.raises(ValueError):
        lay.phase_rel("train")


def test_occurrences_are_one_per_copy_with_distinct_keys():
    rows, copy, keys = occurrence_keys(["a", "b", "c"], np.array([2, 0, 3]), seed=0, phase="mix")
    assert rows.tolist() == [0, 0, 2, 2, 2] and copy.tolist() == [0, 1, 0, 1, 2]
    assert len(set(keys.tolist())) == 5
    _, _, again = occurrence_keys(["a", "b", "c"], np.array([2, 0, 3]), seed=0, phase="mix")
    _, _, other = occurrence_keys(["a", "b", "c"], np.array([2, 0, 3]), seed=1, phase="mix")
    assert np.array_equal(keys, again) and not np.array_equal(keys, other)
    assert longest_run(list("aabbbab")) == 3 and longest_run([]) == 0


def test_index_parts_round_trip_and_seek(tmp_path):
    import pyarrow.parquet as pq

    rows = pa.table({
        "key": pa.array([9, 3, 7, 1], pa.uint64()), "id": ["d", "b", "c", "a"], "domain": ["x"] * 4,
        "length": pa.array([4, 2, 3, 5], pa.int64()), "file": ["f1", "f0", "f1", "f0"],
        "offset": pa.array([3, 5, 0, 0], pa.int64()), "copy": pa.array([0] * 4, pa.int32()),
    })
    a, b = to_index(sort_part(rows.slice(0, 2))), to_index(sort_part(rows.slice(2)))
    assert a.column("key").to_pylist() == [3, 9] and b.column("id").to_pylist() == ["a", "c"]
    pq.write_table(a, tmp_path / "a.parquet")
    pq.write_table(b, tmp_path / "b.parquet")
    parts = IndexParts([tmp_path / "a.parquet", tmp_path / "b.parquet"], [6, 8], [2, 2], ["f0", "f1"])
    assert parts.total_tokens == 14 and parts.total_docs == 4
    assert [parts.part_at(t) for t in (0, 5, 6, 13)] == [0, 0, 1, 1]
    p1 = parts.part(1)
    assert p1.file.tolist() == [0, 1] and p1.offset.tolist() == [0, 0] and p1.cum.tolist() == [0, 5, 8]
    bad = IndexParts([tmp_path / "a.parquet"], [7], [2], ["f0", "f1"])
    with pytest.raises(ValueError, match="the manifest says 7"):
        bad.part(0)
