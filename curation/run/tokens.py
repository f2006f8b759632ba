"""Where a run's token shards live (the ``tokenize`` stage, docs/tokens.md): every token path is
computed here, on the run's filesystem, and the files are written through :mod:`.commit`.

```
<run>/tokens/<phase>/shard-XXXXX.bin                         flat token file of input shard XXXXX
<run>/tokens/<phase>/index.parquet/part-<16 hex>.parquet     index parts, in training order by name
```
``phase`` is ``mix`` or ``anneal``. Paths in the manifest are relative to the run root (POSIX
separators), so a run folder can be copied or moved as a whole.

A token file is written whole, once per shard, under a temporary name and moved into place
(:func:`~curation.run.commit.write_bytes_atomic`): a reader never sees half a file, on a local disk
or an object store. Index parts are Parquet, committed the same way.
"""

from __future__ import annotations

import posixpath

import pyarrow as pa

from curation.run.commit import write_bytes_atomic, write_table_atomic
from curation.run.layout import TOKENS, RunLayout

PHASES = ("mix", "anneal")
INDEX_DIR = "index.parquet"


class TokenLayout:
    """The token paths of one run (``RunLayout`` or its URI / local path)."""

    def __init__(self, run: "RunLayout | str"):
        self.run = RunLayout.of(run)
        self.fs = self.run.fs

    @staticmethod
    def _check(phase: str) -> str:
        if phase not in PHASES:
            raise ValueError(f"unknown token phase {phase!r}; known: {list(PHASES)}")
        return phase

    # -- relative names (what the manifest and the index store) -------------------------------
    def phase_rel(self, phase: str) -> str:
        return f"{TOKENS}/{self._check(phase)}"

    def bin_rel(self, phase: str, shard_index: int) -> str:
        return f"{self.phase_rel(phase)}/shard-{int(shard_index):05d}.bin"

    def index_rel(self, phase: str) -> str:
        return f"{self.phase_rel(phase)}/{INDEX_DIR}"

    def index_part_rel(self, phase: str, first_key: int) -> str:
        """An index part is named by the smallest order key it holds: parts sort by name."""
        return f"{self.index_rel(phase)}/part-{int(first_key):016x}.parquet"

    # -- paths on the run's filesystem ----------------------------------------------------------
    def path(self, rel: str) -> str:
        """A manifest-relative name as a path on ``fs`` (refused when it escapes the run folder)."""
        if posixpath.isabs(rel):
            raise ValueError(f"token path {rel!r} is not relative to the run folder")
        return self.run.path(rel)

    def display(self, rel: str) -> str:
        return self.run.display(self.path(rel))

    # -- writers (atomic, any filesystem) -------------------------------------------------------
    def write_file(self, phase: str, shard_index: int, data: bytes) -> str:
        """Commit shard ``shard_index``'s whole token file of ``phase``; returns its relative name."""
        rel = self.bin_rel(phase, shard_index)
        write_bytes_atomic(self.fs, self.path(rel), data)
        return rel

    def write_index_part(self, phase: str, part: pa.Table) -> str:
        """Commit one index part (sorted, with its ``key`` column); returns its relative name."""
        rel = self.index_part_rel(phase, part.column("key")[0].as_py())
        write_table_atomic(self.fs, part, self.path(rel))
        return rel
