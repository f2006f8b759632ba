"""Spill files of global stages: one file per map task, sorted by partition, with an index.

The sort-based shuffle of Spark (``IndexShuffleBlockResolver``): a map task writes all its rows
in one file, grouped by partition, and a reducer for partition ``p`` reads only ``p``'s slice of
each file with two ranged reads (16 bytes of the index, then the slice). The bytes reducers read
are the bytes mappers wrote, whatever the number of partitions; a reducer never sees another
partition's rows. Decisions routed back to shards use the same format with the shard index as
the partition, so an apply reads only its own shard's decisions.

Layout of a ``.spill`` file (all integers little-endian uint64)::

    0    magic b"CURSPIL1"
    8    P, the number of partitions
    16   offset and length of the JSON metadata (``meta``: small flags, e.g. ``changed``)
    32   P + 1 segment offsets: partition p is the bytes [off[p], off[p+1]) (empty: no rows)
    ...  the metadata, the schema (an Arrow IPC stream with no batch), then the segments,
         each an Arrow IPC stream of partition p's rows in their original order

Files are written whole through :func:`curation.run.commit.write_bytes_atomic` (a temporary
name, then a rename or server-side copy), so a reader only ever sees a committed file. Reads go
through ``pyarrow.fs``: local disk, S3 and GCS alike.
"""

from __future__ import annotations

import json
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from curation.run.commit import write_bytes_atomic
from curation.run.layout import SPILL as SUFFIX
MAGIC = b"CURSPIL1"
HEADER = 32
#: Arrow IPC buffer compression of the segments (the codec of the Parquet files we replaced).
COMPRESSION = "zstd"
#: Files read at once by a reducer: hides object-store latency (S3 GETs are ~20-50 ms each).
READ_THREADS = 16


class SpillError(ValueError):
    """A file that is not a spill file, or one written for another partition count."""


@dataclass
class SpillStats:
    """What a reader did: files opened, bytes read (index entries, metadata and segments)."""

    files: int = 0
    bytes: int = 0
    requests: int = 0

    def add(self, other: "SpillStats") -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.requests += other.requests


def _ipc(table: pa.Table | None, schema: pa.Schema) -> bytes:
    sink = pa.BufferOutputStream()
    opts = pa.ipc.IpcWriteOptions(compression=COMPRESSION)
    with pa.ipc.new_stream(sink, schema, options=opts) as w:
        if table is not None:
            w.write_table(table)
    return sink.getvalue().to_pybytes()


def encode(table: pa.Table, parts: np.ndarray, n_parts: int, meta: dict | None = None) -> bytes:
    """The bytes of a spill file holding ``table``'s rows, row ``i`` in partition ``parts[i]``
    (rows keep their order within a partition)."""
    parts = np.asarray(parts, dtype=np.int64)
    if len(parts) != table.num_rows:
        raise ValueError(f"{len(parts)} partition numbers for {table.num_rows} rows")
    if len(parts) and (parts.min() < 0 or parts.max() >= n_parts):
        raise ValueError(f"partition numbers must lie in [0, {n_parts})")
    order = np.argsort(parts, kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        table = table.take(pa.array(order))
    counts = np.bincount(parts, minlength=n_parts)
    meta_b = json.dumps(meta or {}, sort_keys=True).encode("utf-8")
    body = [meta_b, _ipc(None, table.schema)]
    pos = HEADER + 8 * (n_parts + 1) + sum(len(b) for b in body)
    offsets = np.empty(n_parts + 1, dtype="<u8")
    start = 0
    for p in range(n_parts):
        offsets[p] = pos
        n = int(counts[p])
        if n:
            seg = _ipc(table.slice(start, n), table.schema)
            body.append(seg)
            pos += len(seg)
            start += n
    offsets[n_parts] = pos
    head = MAGIC + struct.pack("<QQQ", n_parts, HEADER + 8 * (n_parts + 1), len(meta_b))
    return b"".join([head, offsets.tobytes(), *body])


def write(fs: pafs.FileSystem, path: str, table: pa.Table, parts: np.ndarray, n_parts: int,
          meta: dict | None = None) -> int:
    """Write a spill file atomically; returns its size in bytes."""
    if not path.endswith(SUFFIX):
        raise ValueError(f"a spill file's name ends with {SUFFIX}: {path}")
    data = encode(table, parts, n_parts, meta)
    write_bytes_atomic(fs, path, data)
    return len(data)


def _read(f, n: int, offset: int, stats: SpillStats) -> bytes:
    data = f.read_at(n, offset)
    stats.bytes += len(data)
    stats.requests += 1
    if len(data) != n:
        raise SpillError(f"truncated spill file (wanted {n} bytes at {offset})")
    return data


class SpillFile:
    """One spill file opened for reading; every read is a ranged read."""

    def __init__(self, fs: pafs.FileSystem, path: str, stats: SpillStats | None = None):
        self.path = path
        self.stats = stats if stats is not None else SpillStats()
        self._f = fs.open_input_file(path)
        self.stats.files += 1
        self._head: tuple[int, int, int] | None = None

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def header(self) -> tuple[int, int, int]:
        """(partitions, metadata offset, metadata length)."""
        if self._head is None:
            raw = _read(self._f, HEADER, 0, self.stats)
            if raw[:8] != MAGIC:
                raise SpillError(f"not a spill file: {self.path}")
            self._head = struct.unpack("<QQQ", raw[8:])
        return self._head

    def meta(self) -> dict:
        _, off, n = self.header()
        return json.loads(_read(self._f, n, off, self.stats).decode("utf-8"))

    def schema(self) -> pa.Schema:
        n_parts, off, n = self.header()
        end = struct.unpack("<Q", _read(self._f, 8, HEADER, self.stats))[0]  # off[0]: schema ends there
        return pa.ipc.open_stream(pa.py_buffer(_read(self._f, end - off - n, off + n, self.stats))).schema

    def _range(self, part: int, n_parts: int | None) -> tuple[int, int]:
        if n_parts is None:
            n_parts = self.header()[0]
        if not 0 <= part < n_parts:
            raise SpillError(f"partition {part} out of range [0, {n_parts}) in {self.path}")
        start, end = struct.unpack("<QQ", _read(self._f, 16, HEADER + 8 * part, self.stats))
        return start, end

    def part(self, part: int, n_parts: int | None = None) -> pa.Table | None:
        """Partition ``part``'s rows, or None when it has none. With ``n_parts`` given (the
        caller knows it) the header is not read: two ranged reads, one for an empty partition."""
        start, end = self._range(part, n_parts)
        if end == start:
            return None
        return pa.ipc.open_stream(pa.py_buffer(_read(self._f, end - start, start, self.stats))).read_all()

    def all(self) -> pa.Table:
        """Every row (partitions in order), read at once."""
        n_parts, off, n = self.header()
        offs = np.frombuffer(_read(self._f, 8 * (n_parts + 1), HEADER, self.stats), dtype="<u8")
        start, end = int(offs[0]), int(offs[-1])
        schema_b = _read(self._f, start - off - n, off + n, self.stats)
        schema = pa.ipc.open_stream(pa.py_buffer(schema_b)).schema
        data = _read(self._f, end - start, start, self.stats) if end > start else b""
        tables = []
        for p in range(n_parts):
            a, b = int(offs[p]) - start, int(offs[p + 1]) - start
            if b > a:
                tables.append(pa.ipc.open_stream(pa.py_buffer(data[a:b])).read_all())
        return pa.concat_tables(tables, promote_options="permissive") if tables else schema.empty_table()


def read_part(fs: pafs.FileSystem, paths: list[str], part: int, n_parts: int,
              stats: SpillStats | None = None, threads: int = READ_THREADS) -> pa.Table:
    """Partition ``part`` of every file in ``paths``, concatenated in the order of ``paths``
    (so the result never depends on which reader finished first). Missing columns across files
    become nulls; a partition with no rows anywhere gets the files' unified schema."""
    stats = stats if stats is not None else SpillStats()

    def one(path: str):
        s = SpillStats()
        with SpillFile(fs, path, s) as f:
            return f.part(part, n_parts), s

    with ThreadPoolExecutor(max(1, min(threads, len(paths)))) as pool:
        got = list(pool.map(one, paths))
    for _, s in got:
        stats.add(s)
    tables = [t for t, _ in got if t is not None]
    if tables:
        return pa.concat_tables(tables, promote_options="permissive")
    return unified_schema(fs, paths, stats).empty_table()


def unified_schema(fs: pafs.FileSystem, paths: list[str], stats: SpillStats | None = None) -> pa.Schema:
    stats = stats if stats is not None else SpillStats()
    schemas = []
    for path in paths:
        with SpillFile(fs, path, stats) as f:
            schemas.append(f.schema())
    return pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])


def read_all(fs: pafs.FileSystem, paths: list[str], stats: SpillStats | None = None) -> pa.Table:
    """Every row of every file (broadcast decisions), files in the order given."""
    stats = stats if stats is not None else SpillStats()
    tables = []
    for path in paths:
        with SpillFile(fs, path, stats) as f:
            tables.append(f.all())
    return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def read_meta(fs: pafs.FileSystem, path: str) -> dict:
    with SpillFile(fs, path) as f:
        return f.meta()
