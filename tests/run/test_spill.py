"""Spill files (curation/run/spill.py): round trip, ranged reads of one partition, on local disk
and on a real S3-protocol server."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from curation.io import fs as fsx
from curation.run import spill


def _rows(n: int, seed: int, shard: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"key": pa.array(rng.integers(0, 2**63, n, dtype=np.uint64)),
                     "text": pa.array([f"doc {seed}-{i} " * (i % 7) for i in range(n)]),
                     "_shard": pa.array(np.full(n, shard, np.int32))})


def _parts(t: pa.Table, n_parts: int) -> np.ndarray:
    return (t.column("key").to_numpy() % np.uint64(n_parts)).astype(np.int64)


def _write_shards(fs, root: str, n_files: int, n_parts: int) -> tuple[list[str], list[pa.Table], int]:
    paths, tables, written = [], [], 0
    for i in range(n_files):
        t = _rows(200 + 37 * i, seed=i, shard=i)
        path = f"{root}/part-{i:05d}.spill"
        written += spill.write(fs, path, t, _parts(t, n_parts), n_parts)
        paths.append(path)
        tables.append(t)
    return paths, tables, written


def _expected(tables: list[pa.Table], part: int, n_parts: int) -> pa.Table:
    import pyarrow.compute as pc

    return pa.concat_tables([t.filter(pc.equal(pa.array(_parts(t, n_parts)), part)) for t in tables])


def _check_partitions(fs, root: str) -> None:
    n_parts = 64
    paths, tables, written = _write_shards(fs, root, 5, n_parts)
    total = spill.SpillStats()
    for p in range(n_parts):
        stats = spill.SpillStats()
        got = spill.read_part(fs, paths, p, n_parts, stats)
        assert got.equals(_expected(tables, p, n_parts))  # same rows, same order (files in order given)
        assert stats.files == len(paths) and stats.requests <= 2 * len(paths)
        total.add(stats)
    # every byte of every segment is read once; the header, metadata and schema never; plus 16
    # bytes of index per (file, partition)
    overhead = sum(spill.HEADER + 8 * (n_parts + 1) + len(spill._ipc(None, t.schema)) + 2 for t in tables)
    assert total.bytes == written - overhead + 16 * n_parts * len(paths)


def test_each_partition_reads_only_its_rows_local(tmp_path):
    _check_partitions(pafs.LocalFileSystem(), str(tmp_path))


def test_each_partition_reads_only_its_rows_on_s3(s3_server):
    fs, root = fsx.resolve(f"s3://{s3_server['bucket']}/spill-test")
    _check_partitions(fs, root)


def test_metadata_all_rows_and_empty_partitions(tmp_path):
    fs = pafs.LocalFileSystem()
    t = _rows(50, seed=3, shard=0)
    path = str(tmp_path / "part-00000.spill")
    parts = np.where(np.arange(50) % 2 == 0, 1, 6)  # only partitions 1 and 6 hold rows
    spill.write(fs, path, t, parts, 8, meta={"changed": False})
    assert spill.read_meta(fs, path) == {"changed": False}
    with spill.SpillFile(fs, path) as f:
        assert f.part(0) is None and f.part(7) is None
        assert f.part(1).column("text").to_pylist() == t.column("text").to_pylist()[0::2]
        assert f.all().column("text").to_pylist() == t.column("text").to_pylist()[0::2] + t.column("text").to_pylist()[1::2]
        assert f.schema() == t.schema
        with pytest.raises(spill.SpillError, match="out of range"):
            f.part(8)


def test_an_empty_partition_everywhere_has_the_unified_schema(tmp_path):
    """A shard with no rows spills only key and _shard; a reducer with no rows still gets every
    column the other files have (operators' combine reads columns of an empty table)."""
    fs = pafs.LocalFileSystem()
    empty = pa.table({"key": pa.array([], pa.uint64()), "_shard": pa.array([], pa.int32())})
    full = _rows(10, seed=1, shard=1)
    a, b = str(tmp_path / "part-00000.spill"), str(tmp_path / "part-00001.spill")
    spill.write(fs, a, empty, np.zeros(0, np.int64), 4)
    spill.write(fs, b, full, np.zeros(10, np.int64), 4)
    assert spill.read_part(fs, [a, b], 0, 4).num_rows == 10
    got = spill.read_part(fs, [a, b], 3, 4)
    assert got.num_rows == 0 and set(got.column_names) == {"key", "text", "_shard"}


def test_not_a_spill_file_is_a_clear_error(tmp_path):
    fs = pafs.LocalFileSystem()
    bad = tmp_path / "part-00000.spill"
    bad.write_bytes(b"PAR1" + b"\0" * 60)
    with spill.SpillFile(fs, str(bad)) as f, pytest.raises(spill.SpillError, match="not a spill file"):
        f.meta()
    with pytest.raises(ValueError, match="out of range|must lie"):
        spill.encode(_rows(3, 1, 0), np.array([0, 1, 9]), 4)
