"""Where every file of a run lives. The only place a run path is built.

```
<output>/run.json                          resolved config, versions, input list (record.py)
<output>/run.lock                          the driver that owns the folder (lock.py)
<output>/progress.json                     shards done per stage, for `curate status` (progress.py)
<output>/NN-<stage>/part-XXXXX.parquet     kept documents after group NN (named by its last stage)
<output>/rejected/<stage>/part-XXXXX.parquet
<output>/stats/<stage>/part-XXXXX.parquet
<output>/_work/<stage>/...                 spill files of global stages (spill.py; removed when the run ends)
<output>/mix/part-XXXXX.parquet, anneal/part-XXXXX.parquet, manifest.json   (manifest.py)
<output>/tokens/<phase>/                   token shards (the tokenize stage; paths: tokens.py)
<output>/logs/                             log files
<output>/report.html
```
Paths are strings on the layout's ``pyarrow.fs`` filesystem (``fs``): plain absolute paths on a
local disk, ``bucket/key`` on an object store. Every path is checked to resolve inside the root.
"""

from __future__ import annotations

import os
import posixpath
import re

from curation.io import fs as fsx
from curation.schema import SHARD_NAME

RUN_JSON = "run.json"
LOCK = "run.lock"
PROGRESS = "progress.json"
MANIFEST = "manifest.json"
REPORT = "report.html"
REJECTED = "rejected"
STATS = "stats"
WORK = "_work"
OUTPUTS = ("mix", "anneal")  # per-shard outputs of the mix stage, listed in manifest.json
TOKENS = "tokens"
LOGS = "logs"
#: a stage group's output folder: two digits, a dash, the name of its last stage
GROUP_DIR = re.compile(r"^(\d+)-(.+)$")
PART = SHARD_NAME  # shard files and spill parts share the stem (curation/schema.py)
#: the suffix of a global stage's spill files (curation/run/spill.py)
SPILL = ".spill"


class RunLayout:
    def __init__(self, output: str | os.PathLike):
        self.fs, self.root = fsx.resolve(output)
        self.uri = fsx.to_uri(self.fs, self.root)

    @classmethod
    def of(cls, output: "str | os.PathLike | RunLayout") -> "RunLayout":
        return output if isinstance(output, RunLayout) else cls(output)

    def __repr__(self) -> str:
        return f"RunLayout({self.uri!r})"

    def __reduce__(self):  # sent to Ray workers as its URI; the filesystem is rebuilt there
        return (RunLayout, (self.uri,))

    @property
    def is_local(self) -> bool:
        return fsx.local(self.fs)

    def path(self, *parts: str) -> str:
        return self.inside(posixpath.join(self.root, *parts))

    def inside(self, path: str | os.PathLike) -> str:
        """Refuse any path that would escape the output folder (``..``, absolute, another bucket)."""
        p = os.fspath(path)
        norm = posixpath.normpath(os.path.realpath(p) if self.is_local else p)
        if norm != self.root and not norm.startswith(self.root.rstrip("/") + "/"):
            raise ValueError(f"refusing to write outside the output folder: {norm}")
        return norm

    def display(self, path: str) -> str:
        """A path as the user would type it (a URI on object stores)."""
        return fsx.to_uri(self.fs, path)

    # -- run-level files ----------------------------------------------------------------------
    def run_json(self) -> str:
        return self.path(RUN_JSON)

    def lock(self) -> str:
        return self.path(LOCK)

    def progress(self) -> str:
        return self.path(PROGRESS)

    def manifest(self) -> str:
        return self.path(MANIFEST)

    def report(self, name: str = REPORT) -> str:
        return self.path(name)

    def logs(self) -> str:
        return self.path(LOGS)

    def run_log(self) -> str:
        """Ray's messages and the workers' output of ``curate run`` (unless ``--verbose``)."""
        return self.path(LOGS, "run.log")

    # -- stage outputs --------------------------------------------------------------------------
    @staticmethod
    def group_dir_name(index: int, last_stage: str) -> str:
        """Group ``index`` (0-based) writes ``<index+1:02d>-<last stage>``."""
        return f"{index + 1:02d}-{last_stage}"

    @staticmethod
    def shard_name(index: int) -> str:
        """The file stem of shard ``index`` in every folder (``part-00003``)."""
        return PART.format(index)

    def kept_dir(self, group_name: str) -> str:
        return self.path(group_name)

    def kept(self, group_name: str, shard: str) -> str:
        return self.path(group_name, f"{shard}.parquet")

    def rejected_dir(self, stage: str) -> str:
        return self.path(REJECTED, stage)

    def rejected(self, stage: str, shard: str) -> str:
        return self.path(REJECTED, stage, f"{shard}.parquet")

    def stats_root(self) -> str:
        return self.path(STATS)

    def stats(self, stage: str, shard: str) -> str:
        return self.path(STATS, stage, f"{shard}.parquet")

    def output_dir(self, name: str) -> str:
        if name not in OUTPUTS:
            raise ValueError(f"unknown run output {name!r}; known: {OUTPUTS}")
        return self.path(name)

    def output(self, name: str, shard: str) -> str:
        return posixpath.join(self.output_dir(name), f"{shard}.parquet")

    def output_rel(self, name: str, shard: str) -> str:
        """The same file relative to the run root (as listed in manifest.json)."""
        return f"{name}/{shard}.parquet"

    # -- the work area of global stages ----------------------------------------------------------
    def work_root(self) -> str:
        return self.path(WORK)

    def work(self, stage: str) -> str:
        return self.path(WORK, stage)

    def parts_meta(self, stage: str) -> str:
        return self.path(WORK, stage, "parts.json")

    def collect_dir(self, stage: str) -> str:
        return self.path(WORK, stage, "collect")

    def collected(self, stage: str, shard: str) -> str:
        return self.path(WORK, stage, "collect", f"{shard}{SPILL}")

    def round_dir(self, stage: str, round_: int) -> str:
        return self.path(WORK, stage, f"round-{round_:03d}")

    def round_part(self, stage: str, round_: int, part: int) -> str:
        return posixpath.join(self.round_dir(stage, round_), f"{PART.format(part)}{SPILL}")

    def spill_dir(self, stage: str, source: str) -> str:
        """``collect`` or ``round-NNN``: where a combine reads its rows from."""
        if source != "collect" and not re.fullmatch(r"round-\d{3}", source):
            raise ValueError(f"unknown spill folder {source!r}")
        return self.path(WORK, stage, source)

    def spill_files(self, stage: str, source: str, n: int) -> list[str]:
        """The ``n`` spill files a reducer reads from ``source``: one per shard (``collect``) or
        per partition of the previous round. Named, not listed: no listing per reducer."""
        folder = self.spill_dir(stage, source)
        return [posixpath.join(folder, f"{PART.format(i)}{SPILL}") for i in range(n)]

    def decisions_dir(self, stage: str) -> str:
        return self.path(WORK, stage, "decisions")

    def decision(self, stage: str, part: int) -> str:
        return self.path(WORK, stage, "decisions", f"p-{part:05d}{SPILL}")

    def summary(self, stage: str, shard: str) -> str:
        """A per-shard summary a stage's apply step leaves for the driver (mix: manifest figures)."""
        return self.path(WORK, stage, "summaries", f"{shard}.json")

    def summaries_dir(self, stage: str) -> str:
        return self.path(WORK, stage, "summaries")

    def fault_marker(self, stage: str, shard_index: int) -> str:
        return self.path(WORK, f".killed-{stage}-{shard_index}")

    # -- discovery (readers) ------------------------------------------------------------------
    def group_dirs(self) -> list[tuple[str, str]]:
        """``(folder name, stage name)`` of every stage output folder present, in order."""
        out = []
        for i in fsx.listdir(self.fs, self.root):
            name = posixpath.basename(i.path)
            m = GROUP_DIR.match(name)
            if m and i.type == fsx.pafs.FileType.Directory:
                out.append((name, m.group(2)))
        return out
