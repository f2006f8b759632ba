"""The index: one row per document occurrence, in training order, split into parts.

Columns: ``id`` (string), ``domain`` (string), ``length`` (int32, tokens including BOS/EOS),
``file`` (string, dictionary-encoded: a token file relative to the run root), ``offset`` (int64,
in tokens, into ``file``), ``copy`` (int32, which repeat of the document in the mix) and ``key``
(uint64, the order key). A part is a partition of the order sorted by key (:mod:`.order`);
``index.parquet/`` is a folder of parts (Spark's convention), which pyarrow and DuckDB read as one
table: ``read_parquet('tokens/mix/index.parquet/*.parquet')``.

:class:`IndexParts` is the trainer's view: the parts in order with their token counts (from the
manifest), loaded one at a time, so its memory is one part, not the corpus.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("domain", pa.string()),
    ("length", pa.int32()),
    ("file", pa.dictionary(pa.int32(), pa.string())),
    ("offset", pa.int64()),
    ("copy", pa.int32()),
    ("key", pa.uint64()),
])


def sort_part(rows: pa.Table) -> pa.Table:
    """Rows of one partition in training order: by key, ties by id then copy."""
    return rows.sort_by([("key", "ascending"), ("id", "ascending"), ("copy", "ascending")])


def to_index(rows: pa.Table) -> pa.Table:
    cols = []
    for f in SCHEMA:
        c = rows.column(f.name)
        cols.append(c if c.type == f.type else c.cast(f.type))
    return pa.Table.from_arrays(cols, schema=SCHEMA)


class _Part:
    __slots__ = ("file", "offset", "length", "cum")

    def __init__(self, file: np.ndarray, offset: np.ndarray, length: np.ndarray):
        self.file, self.offset, self.length = file, offset, length
        self.cum = np.concatenate([[0], np.cumsum(length, dtype=np.int64)])


class IndexParts:
    """The index of one phase, read part by part: token position -> (file, offset)."""

    def __init__(self, paths: list, tokens: list[int], documents: list[int], files: list[str], fs=None):
        """``paths``: the parts in order, on ``fs`` (a ``pyarrow.fs`` filesystem; None: local paths)."""
        if not paths:
            raise ValueError("the token index has no parts")
        self.paths = paths
        self.fs = fs
        self.files = files  # relative names of the token files, position = code
        self._code = {f: i for i, f in enumerate(files)}
        self.part_tokens = np.concatenate([[0], np.cumsum(np.asarray(tokens, np.int64))])
        self.part_docs = np.concatenate([[0], np.cumsum(np.asarray(documents, np.int64))])
        self.total_tokens = int(self.part_tokens[-1])
        self.total_docs = int(self.part_docs[-1])
        self._cache: tuple[int, _Part] | None = None

    def part_at(self, token: int) -> int:
        return int(np.searchsorted(self.part_tokens, token, side="right") - 1)

    def part(self, k: int) -> _Part:
        if self._cache is None or self._cache[0] != k:
            path = self.paths[k]
            try:
                t = pq.read_table(path, columns=["file", "offset", "length"], filesystem=self.fs)
            except Exception as e:
                raise ValueError(f"cannot read token index part {path}: {e}") from e
            f = t.column("file").combine_chunks()
            if isinstance(f.type, pa.DictionaryType):
                codes = np.array([self._file_code(x, path) for x in f.dictionary.to_pylist()], np.int32)
                file = codes[f.indices.to_numpy(zero_copy_only=False)] if len(codes) else np.zeros(0, np.int32)
            else:
                file = np.array([self._file_code(x, path) for x in f.to_pylist()], np.int32)
            part = _Part(file, t.column("offset").to_numpy().astype(np.int64),
                         t.column("length").to_numpy().astype(np.int64))
            if int(part.cum[-1]) != int(self.part_tokens[k + 1] - self.part_tokens[k]):
                raise ValueError(f"{path}: {int(part.cum[-1])} tokens, the manifest says "
                                 f"{int(self.part_tokens[k + 1] - self.part_tokens[k])}")
            self._cache = (k, part)
        return self._cache[1]

    def _file_code(self, name: str, part_path) -> int:
        try:
            return self._code[name]
        except KeyError:
            raise ValueError(f"{part_path}: token file {name!r} is not in the manifest's tokens section") from None
