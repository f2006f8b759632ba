"""Where a run's token shards live: every token path is computed here and nowhere else.

```
<run>/tokens/<phase>/shard-XXXXX.bin                         flat token file of input shard XXXXX
<run>/tokens/<phase>/index.parquet/part-<16 hex>.parquet     index parts, in training order by name
```
``phase`` is ``mix`` or ``anneal``. Paths in the manifest are relative to the run root (POSIX
separators), so a run folder can be copied or moved as a whole.
"""

from __future__ import annotations

from pathlib import Path

PHASES = ("mix", "anneal")
ROOT = "tokens"
INDEX_DIR = "index.parquet"


class TokenLayout:
    def __init__(self, run_root: str | Path):
        self.root = Path(run_root)

    @staticmethod
    def _check(phase: str) -> str:
        if phase not in PHASES:
            raise ValueError(f"unknown token phase {phase!r}; known: {list(PHASES)}")
        return phase

    # -- relative names (what the manifest and the index store) -------------------------------
    def phase_rel(self, phase: str) -> str:
        return f"{ROOT}/{self._check(phase)}"

    def bin_rel(self, phase: str, shard_index: int) -> str:
        return f"{self.phase_rel(phase)}/shard-{int(shard_index):05d}.bin"

    def index_rel(self, phase: str) -> str:
        return f"{self.phase_rel(phase)}/{INDEX_DIR}"

    def index_part_rel(self, phase: str, first_key: int) -> str:
        """An index part is named by the smallest order key it holds: parts sort by name."""
        return f"{self.index_rel(phase)}/part-{int(first_key):016x}.parquet"

    # -- absolute paths -----------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        p = (self.root / rel).resolve()
        root = self.root.resolve()
        if root not in p.parents:
            raise ValueError(f"token path {rel!r} escapes the run folder {root}")
        return p

    def phase_dir(self, phase: str) -> Path:
        return self.path(self.phase_rel(phase))

    def index_dir(self, phase: str) -> Path:
        return self.path(self.index_rel(phase))
