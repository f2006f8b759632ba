"""Where a run's files live, and how a shard's files are committed atomically.

```
<output>/run.json
<output>/NN-<stage>/part-XXXXX.parquet     kept documents after group NN (named by its last stage)
<output>/rejected/<stage>/part-XXXXX.parquet
<output>/stats/<stage>/part-XXXXX.parquet
<output>/_work/<stage>/...                 spill files of global stages (removed when the run ends)
```
A shard is committed when its kept file exists: the rejected and stats files are renamed into
place first, the kept file last, each from a temporary name in the same folder.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class RunLayout:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def run_json(self) -> Path:
        return self.root / "run.json"

    def kept_dir(self, group_name: str) -> Path:
        return self.root / group_name

    def kept(self, group_name: str, shard: str) -> Path:
        return self.kept_dir(group_name) / f"{shard}.parquet"

    def rejected(self, stage: str, shard: str) -> Path:
        return self.root / "rejected" / stage / f"{shard}.parquet"

    def stats(self, stage: str, shard: str) -> Path:
        return self.root / "stats" / stage / f"{shard}.parquet"

    def work(self, stage: str) -> Path:
        return self.root / "_work" / stage

    def inside(self, path: Path) -> Path:
        """Refuse any path that would escape the output folder."""
        resolved = Path(path).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ValueError(f"refusing to write outside the output folder: {resolved}")
        return resolved


def tmp_name(final: Path) -> Path:
    return final.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{final.name}")


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
    """A Parquet file written batch by batch to a temporary name, renamed by ``commit``.

    The schema is the first non-empty batch's (with null-typed columns widened when a later batch
    brings a real type); an all-empty file gets the schema of the last batch seen.
    """

    def __init__(self, final: Path, compression: str = "zstd"):
        self.final = final
        self.tmp = tmp_name(final)
        self.compression = compression
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.rows = 0
        self._pending_empty: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            self._pending_empty = table.schema
            return
        if self.writer is None:
            self.schema = table.schema
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression=self.compression)
        else:
            table = conform(table, self.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def commit(self, write_empty: bool = True) -> Path | None:
        if self.writer is None:
            if not write_empty:
                return None
            schema = self._pending_empty or pa.schema([])
            self.final.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), self.tmp, compression=self.compression)
        else:
            self.writer.close()
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.tmp.exists():
            self.tmp.unlink()


def write_table_atomic(table: pa.Table, final: Path, compression: str = "zstd") -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(final)
    pq.write_table(table, tmp, compression=compression)
    os.replace(tmp, final)
