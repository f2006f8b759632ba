"""Arm sources of ``curate evaluate``: what ``--arm NAME=SOURCE`` means, as a list of table files.

This is the only module of :mod:`curation.evaluation` that knows the run folder (``run.json`` and
its groups, ``manifest.json``, ``mix/``, ``rejected/``); everything else sees :class:`Source`.

SOURCE is one of:

* a run folder (it has ``manifest.json``): its mix, the files the manifest lists under ``mix``
  (documents repeated as the mix repeats them), with the manifest's ``achieved_mix`` as its domain
  token shares;
* ``RUN@STAGE``: the documents that stage kept. Stages run fused in groups and only a group's
  output is written (``NN-<last stage>/``), so the documents kept by stage ``s`` of a group are the
  group's output plus the rows that the group's later stages rejected (rejected rows carry their
  text; ``output.keep_rejected_text`` is on by default). Their text is as the group left it (a
  later ``pii`` stage of the same group has redacted it). ``RUN@mix`` is the run's mix;
* a Parquet or JSONL(.gz) file, or a folder searched recursively for them, with a ``text`` column.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

TABLE_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json.gz")
#: columns an arm may use besides the text (all optional)
EXTRA_COLUMNS = ("id", "domain", "lang")


class SourceError(ValueError):
    """A SOURCE that names nothing readable."""


@dataclass(frozen=True)
class Part:
    """One table file; ``stages``: keep only rows whose ``stage`` column is one of these (rejected/)."""

    path: Path
    stages: tuple[str, ...] | None = None


@dataclass
class Source:
    spec: str
    kind: str  # "mix", "stage" or "files"
    parts: list[Part]
    text_column: str = "text"
    run: Path | None = None
    stage: str | None = None
    notes: list[str] = field(default_factory=list)
    #: the domain token shares the source was built to (a run's mix: the manifest's achieved_mix)
    shares: dict[str, float] | None = None

    def describe(self) -> dict:
        return {"spec": self.spec, "kind": self.kind, "files": len(self.parts),
                **({"run": str(self.run), "stage": self.stage} if self.run else {})}


def _is_run(path: Path) -> bool:
    return (path / "run.json").is_file() or (path / "manifest.json").is_file()


def _table_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TABLE_SUFFIXES)
                  and not p.name.startswith((".", "_")))


def _mix_source(spec: str, run: Path) -> Source:
    mpath = run / "manifest.json"
    if not mpath.is_file():
        raise SourceError(f"{spec}: {run} has no manifest.json (did the run finish its mix stage?)")
    m = json.loads(mpath.read_text())
    files = [run / f for f in (m.get("mix") or {}).get("files", [])]
    if not files:
        raise SourceError(f"{spec}: {mpath} lists no mix files")
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise SourceError(f"{spec}: mix file missing: {missing[0]}")
    shares = {k: float(v) for k, v in (m.get("achieved_mix") or {}).items() if float(v) > 0} or None
    return Source(spec, "mix", [Part(f) for f in files], m.get("text_column", "text"), run, "mix", shares=shares)


def run_groups(run: Path) -> list[dict]:
    """``run.json``'s groups: ``[{"name": "01-url_filter", "stages": [...]}, ...]`` in order."""
    rj = run / "run.json"
    if not rj.is_file():
        raise SourceError(f"{run}: no run.json (not a run folder)")
    return json.loads(rj.read_text()).get("groups", [])


def _stage_source(spec: str, run: Path, stage: str) -> Source:
    if stage == "mix":
        return _mix_source(spec, run)
    groups = run_groups(run)
    for g in groups:
        if stage in g["stages"]:
            break
    else:
        known = [s for g in groups for s in g["stages"]]
        raise SourceError(f"{spec}: the run has no stage {stage!r} (stages: {', '.join(known)})")
    folder = run / g["name"]
    kept = _table_files(folder) if folder.is_dir() else []
    if not kept:
        raise SourceError(f"{spec}: {folder} holds no output (has the run finished that stage?)")
    later = tuple(g["stages"][g["stages"].index(stage) + 1:])
    parts = [Part(p) for p in kept]
    for s in later:
        rdir = run / "rejected" / s
        if rdir.is_dir():
            parts += [Part(p, (s,)) for p in _table_files(rdir)]
    notes = [f"stage {stage} ran fused in {g['name']}: its output plus the rows {', '.join(later)} rejected"] if later else []
    return Source(spec, "stage", parts, "text", run, stage, notes)


def resolve(spec: str) -> Source:
    """A SOURCE string to its files (see the module docstring)."""
    p = Path(spec)
    if "@" in spec and not p.exists():
        run_s, stage = spec.rsplit("@", 1)
        run = Path(run_s)
        if not run.is_dir() or not _is_run(run):
            raise SourceError(f"{spec}: {run_s} is not a run folder")
        return _stage_source(spec, run, stage)
    if not p.exists():
        raise SourceError(f"{spec}: no such file, folder or RUN@STAGE")
    if p.is_dir() and _is_run(p):
        return _mix_source(spec, p)
    files = _table_files(p)
    if not files:
        raise SourceError(f"{spec}: no .parquet/.jsonl/.jsonl.gz files")
    return Source(spec, "files", [Part(f) for f in files])


def mix_pool(run: Path) -> Source:
    """The documents the run's ``mix`` stage received (with their ``domain`` labels): what a mix
    search resamples from."""
    groups = run_groups(run)
    idx = next((i for i, g in enumerate(groups) if "mix" in g["stages"]), None)
    if idx is None or idx == 0:
        raise SourceError(f"{run}: the run has no mix stage after another stage")
    g = groups[idx]
    pos = g["stages"].index("mix")
    before = g["stages"][pos - 1] if pos > 0 else groups[idx - 1]["stages"][-1]
    return _stage_source(f"{run}@{before}", run, before)


def run_mix_target(run: Path) -> dict[str, float] | None:
    """The ``target`` of the run's mix stage (from run.json's resolved config), if any."""
    rj = run / "run.json"
    if not rj.is_file():
        return None
    cfg = json.loads(rj.read_text()).get("config", {})
    for st in cfg.get("stages", []):
        if st.get("op") == "mix" or st.get("name") == "mix":
            t = st.get("target") or (st.get("params") or {}).get("target")
            if t:
                return {k: float(v) for k, v in t.items()}
    return None


# ---------------------------------------------------------------------------------------------
# reading


def _read_jsonl(path: Path) -> pa.Table:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if not raw.strip():
        return pa.table({})
    return pj.read_json(io.BytesIO(raw))


def read_part(part: Part, text_column: str, columns: tuple[str, ...] = EXTRA_COLUMNS) -> pa.Table:
    """The ``text`` (renamed from ``text_column``) and available ``columns`` of one file, as a table."""
    if part.path.name.endswith(".parquet"):
        names = pq.ParquetFile(part.path).schema_arrow.names
        want = [c for c in (text_column, *columns, "stage") if c in names]
        t = pq.read_table(part.path, columns=want)
    else:
        t = _read_jsonl(part.path)
    if text_column not in t.column_names:
        raise SourceError(f"{part.path}: no column {text_column!r}")
    if part.stages is not None and "stage" in t.column_names:
        t = t.filter(pc.is_in(t.column("stage"), pa.array(list(part.stages))))
    cols = {"text": pc.cast(t.column(text_column), pa.large_string())}
    for c in columns:
        if c in t.column_names:
            cols[c] = pc.cast(t.column(c), pa.string())
    return pa.table(cols)
