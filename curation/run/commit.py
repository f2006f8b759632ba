"""The atomic commit of a run's files, on any filesystem.

Every file is written under a temporary name in its final folder (``.tmp-<random>-<name>``) and
moved to its final name when complete:

* on a local disk (and HDFS) the move is a rename, atomic;
* on an object store (S3, GCS) the move is a server-side copy then a delete: the final object
  appears whole or not at all (a PUT or COPY is atomic per object), and an upload that dies
  half-way leaves at most a temporary object.

A shard is committed when its kept file exists: its rejected and stats files (and a mix shard's
``mix``/``anneal`` files and summary) are committed first, the kept file last, so the kept file is
the shard's commit marker. Readers list only final names (``part-*.parquet``, never ``.tmp-*``,
see :func:`committed`), and a resumed run deletes the temporaries a dead worker left
(:func:`remove_temporaries`).
"""

from __future__ import annotations

import json
import posixpath
import uuid

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from curation.io import fs as fsx

TMP_PREFIX = ".tmp-"


def tmp_name(final: str) -> str:
    head, name = posixpath.split(final)
    return posixpath.join(head, f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{name}")


def is_temporary(path: str) -> bool:
    return posixpath.basename(path).startswith(TMP_PREFIX)


def publish(fs: pafs.FileSystem, tmp: str, final: str) -> str:
    fs.move(tmp, final)
    return final


def conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """Give ``table`` exactly the ``target`` schema: missing columns become nulls, then cast."""
    cols = []
    for field in target:
        if field.name in table.column_names:
            col = table.column(field.name)
            cols.append(col if col.type == field.type else col.cast(field.type))
        else:
            cols.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=target)


class StagedParquet:
    """A Parquet file written batch by batch to a temporary name, moved into place by ``commit``.

    The schema is the first non-empty batch's (with null-typed columns widened when a later batch
    brings a real type); an all-empty file gets the schema of the last batch seen. ``close`` ends
    the temporary file without publishing it (it can then be read back, see ``tmp``).
    """

    def __init__(self, fs: pafs.FileSystem, final: str, compression: str = "zstd"):
        self.fs = fs
        self.final = final
        self.tmp = tmp_name(final)
        self.compression = compression
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.rows = 0
        self.closed = False
        self._pending_empty: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            self._pending_empty = table.schema
            return
        if self.writer is None:
            self.schema = table.schema
            fsx.makedirs(self.fs, posixpath.dirname(self.final))
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression=self.compression, filesystem=self.fs)
        else:
            table = conform(table, self.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self, write_empty: bool = True) -> bool:
        """Finish the temporary file; False when there is nothing to publish (empty, not wanted)."""
        if self.closed:
            return self.writer is not None or write_empty
        self.closed = True
        if self.writer is None:
            if not write_empty:
                return False
            schema = self._pending_empty or pa.schema([])
            fsx.makedirs(self.fs, posixpath.dirname(self.final))
            pq.write_table(schema.empty_table(), self.tmp, compression=self.compression, filesystem=self.fs)
        else:
            self.writer.close()
        return True

    def commit(self, write_empty: bool = True) -> str | None:
        if not self.close(write_empty):
            return None
        return publish(self.fs, self.tmp, self.final)

    def abort(self) -> None:
        if self.writer is not None and not self.closed:
            try:
                self.writer.close()
            except Exception:
                pass
        try:
            self.fs.delete_file(self.tmp)
        except (FileNotFoundError, OSError):
            pass


def write_table_atomic(fs: pafs.FileSystem, table: pa.Table, final: str, compression: str = "zstd") -> str:
    fsx.makedirs(fs, posixpath.dirname(final))
    tmp = tmp_name(final)
    pq.write_table(table, tmp, compression=compression, filesystem=fs)
    return publish(fs, tmp, final)


def write_bytes_atomic(fs: pafs.FileSystem, final: str, data: bytes) -> str:
    fsx.makedirs(fs, posixpath.dirname(final))
    tmp = tmp_name(final)
    with fs.open_output_stream(tmp) as f:
        f.write(data)
    return publish(fs, tmp, final)


def write_json_atomic(fs: pafs.FileSystem, final: str, obj, **dumps) -> str:
    return write_bytes_atomic(fs, final, (json.dumps(obj, **dumps) + "\n").encode("utf-8"))


def read_json(fs: pafs.FileSystem, path: str):
    return json.loads(fsx.read_bytes(fs, path).decode("utf-8"))


def committed(fs: pafs.FileSystem, folder: str, prefix: str = "part-", suffix: str = ".parquet",
              recursive: bool = False) -> list[pafs.FileInfo]:
    """The committed files of a folder (final names only; temporaries are never read)."""
    out = []
    for i in fsx.files(fs, folder, recursive):
        name = posixpath.basename(i.path)
        if name.startswith(prefix) and name.endswith(suffix) and not is_temporary(name):
            out.append(i)
    return out


def committed_names(fs: pafs.FileSystem, folder: str, suffix: str = ".parquet") -> set[str]:
    """Shard names (``part-00003``) with a committed file in ``folder`` (Parquet, or ``suffix``)."""
    return {posixpath.basename(i.path)[: -len(suffix)] for i in committed(fs, folder, suffix=suffix)}


def remove_temporaries(fs: pafs.FileSystem, root: str) -> int:
    """Delete every temporary under ``root`` (left by a worker or driver that died mid-write)."""
    stale = [i.path for i in fsx.files(fs, root, recursive=True) if is_temporary(i.path)]
    for p in stale:
        try:
            fs.delete_file(p)
        except FileNotFoundError:
            pass
    return len(stale)
