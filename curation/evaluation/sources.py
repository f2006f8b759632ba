"""Arm sources of ``curate evaluate``: what ``--arm NAME=SOURCE`` means, as a list of table files.

This is the only module of :mod:`curation.evaluation` that knows the run folder (``run.json`` and
its groups, ``manifest.json``, ``mix/``, ``rejected/``), and it reads it only through
:mod:`curation.run` (``RunLayout`` for paths, ``record``/``manifest`` for the files, ``commit`` to
list committed files, never temporaries); everything else sees :class:`Source`. A SOURCE is a local
path or a URI (``s3://``, ``gs://``, ... as :mod:`curation.io.fs` resolves it); its parts are
``(filesystem, path)`` pairs read through ``pyarrow.fs``.

SOURCE is one of:

* a run folder (it has ``manifest.json``): its mix, the files the manifest lists under ``mix``
  (documents repeated as the mix repeats them), with the manifest's ``achieved_mix`` as its domain
  token shares;
* ``RUN@STAGE``: the documents that stage kept (:mod:`curation.run.stage_output`, the definition
  ``curate run --input RUN@STAGE`` reads too). ``RUN@mix`` is the run's mix;
* a Parquet or JSONL(.gz) file, or a folder searched recursively for them, with a ``text`` column.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.json as pj
import pyarrow.parquet as pq

from curation.io import fs as fsx
from curation.run import manifest, record
from curation.run.layout import RunLayout
from curation.run.stage_output import StageOutputError, is_run, split_spec, stage_output

TABLE_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json.gz")
#: columns an arm may use besides the text (all optional)
EXTRA_COLUMNS = ("id", "domain", "lang")


class SourceError(ValueError):
    """A SOURCE that names nothing readable."""


@dataclass(frozen=True)
class Part:
    """One table file: ``path`` on ``fs`` (None: a local path). ``stages``: keep only rows whose
    ``stage`` column is one of these (rejected/)."""

    path: str
    stages: tuple[str, ...] | None = None
    fs: pafs.FileSystem | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "path", os.fspath(self.path))

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self.fs if self.fs is not None else pafs.LocalFileSystem()

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def uri(self) -> str:
        """The file as a user would name it (a plain path when local)."""
        return fsx.to_uri(self.filesystem, self.path)


@dataclass
class Source:
    spec: str
    kind: str  # "mix", "stage" or "files"
    parts: list[Part]
    text_column: str = "text"
    run: RunLayout | None = None
    stage: str | None = None
    notes: list[str] = field(default_factory=list)
    #: the domain token shares the source was built to (a run's mix: the manifest's achieved_mix)
    shares: dict[str, float] | None = None

    def describe(self) -> dict:
        return {"spec": self.spec, "kind": self.kind, "files": len(self.parts),
                **({"run": self.run.uri, "stage": self.stage} if self.run else {})}


def _is_run(layout: RunLayout) -> bool:
    return is_run(layout)


def _table_files(fs: pafs.FileSystem, path: str) -> list[str]:
    if fsx.is_file(fs, path):
        return [path]
    return [i.path for i in fsx.files(fs, path, recursive=True)
            if i.base_name.endswith(TABLE_SUFFIXES) and not i.base_name.startswith((".", "_"))]


def _mix_source(spec: str, layout: RunLayout) -> Source:
    if not manifest.exists(layout):
        raise SourceError(f"{spec}: {layout.uri} has no manifest (did the run finish its mix stage?)")
    try:
        m = manifest.read(layout)
    except ValueError as e:
        raise SourceError(f"{spec}: {e}") from None
    where = layout.display(layout.manifest())
    rels = (m.get("mix") or {}).get("files", [])
    if not rels:
        raise SourceError(f"{spec}: {where} lists no mix files")
    try:
        files = [layout.path(f) for f in rels]
    except ValueError as e:
        raise SourceError(f"{spec}: {where}: {e}") from None
    missing = [f for f in files if not fsx.is_file(layout.fs, f)]
    if missing:
        raise SourceError(f"{spec}: mix file missing: {layout.display(missing[0])}")
    shares = {k: float(v) for k, v in (m.get("achieved_mix") or {}).items() if float(v) > 0} or None
    return Source(spec, "mix", [Part(f, fs=layout.fs) for f in files], m.get("text_column", "text"),
                  layout, "mix", shares=shares)


def _run_record(layout: RunLayout) -> dict:
    try:
        return record.read(layout)
    except FileNotFoundError as e:
        raise SourceError(str(e)) from None


def run_groups(run: str | os.PathLike | RunLayout) -> list[dict]:
    """``run.json``'s groups: ``[{"name": "01-url_filter", "stages": [...]}, ...]`` in order."""
    return _run_record(RunLayout.of(run)).get("groups", [])


def _stage_source(spec: str, layout: RunLayout, stage: str) -> Source:
    if stage == "mix":
        return _mix_source(spec, layout)
    try:
        so = stage_output(spec, layout, stage)  # the one RUN@STAGE definition (curate run reads it too)
    except StageOutputError as e:
        raise SourceError(str(e)) from None
    parts = [Part(p, fs=layout.fs) for p in so.kept] + [Part(p, (s,), layout.fs) for p, s in so.rejected]
    later = so.later
    notes = [f"stage {stage} ran fused in {so.group}: its output plus the rows {', '.join(later)} rejected"] if later else []
    return Source(spec, "stage", parts, "text", layout, stage, notes)


def resolve(spec: str) -> Source:
    """A SOURCE string (a local path or a URI: s3://, gs://, ...) to its files (see the module docstring)."""
    fs, p = fsx.resolve(spec)
    found = fsx.info(fs, p).type
    if "@" in spec and found == pafs.FileType.NotFound:
        run_s, stage = split_spec(spec)
        layout = RunLayout(run_s)
        if not fsx.is_dir(layout.fs, layout.root) or not _is_run(layout):
            raise SourceError(f"{spec}: {run_s} is not a run folder")
        return _stage_source(spec, layout, stage)
    if found == pafs.FileType.NotFound:
        raise SourceError(f"{spec}: no such file, folder or RUN@STAGE")
    if found == pafs.FileType.Directory:
        layout = RunLayout(spec)
        if _is_run(layout):
            return _mix_source(spec, layout)
    files = _table_files(fs, p)
    if not files:
        raise SourceError(f"{spec}: no .parquet/.jsonl/.jsonl.gz files")
    return Source(spec, "files", [Part(f, fs=fs) for f in files])


def stage_before_mix(run: str | os.PathLike | RunLayout) -> str:
    """The stage whose output the run's ``mix`` stage read (from run.json's groups): what a mix
    search resamples and what ``--apply`` re-mixes (``RUN@<it>``)."""
    layout = RunLayout.of(run)
    groups = run_groups(layout)
    idx = next((i for i, g in enumerate(groups) if "mix" in g["stages"]), None)
    if idx is None or idx == 0:
        raise SourceError(f"{layout.uri}: the run has no mix stage after another stage")
    g = groups[idx]
    pos = g["stages"].index("mix")
    return g["stages"][pos - 1] if pos > 0 else groups[idx - 1]["stages"][-1]


def mix_pool(run: str | os.PathLike | RunLayout) -> Source:
    """The documents the run's ``mix`` stage received (with their ``domain`` labels): what a mix
    search resamples from."""
    layout = RunLayout.of(run)
    before = stage_before_mix(layout)
    return _stage_source(f"{layout.uri}@{before}", layout, before)


def stages_from_mix(run: str | os.PathLike | RunLayout) -> tuple[dict, list[dict]]:
    """The run's resolved config (run.json's ``config``) and its stages from ``mix`` on (mix,
    tokenize, ...), each as a pipeline file writes it: ``{"op", "name", **params}``."""
    layout = RunLayout.of(run)
    cfg = _run_record(layout).get("config") or {}
    stages = cfg.get("stages") or []
    idx = next((i for i, st in enumerate(stages) if st.get("op") == "mix"), None)
    if idx is None:
        raise SourceError(f"{layout.uri}: run.json's config has no mix stage")
    return cfg, [{"op": st["op"], "name": st.get("name", st["op"]), **(st.get("params") or {})} for st in stages[idx:]]


def run_mix_target(run: str | os.PathLike | RunLayout) -> dict[str, float] | None:
    """The ``target`` of the run's mix stage (from run.json's resolved config), if any."""
    layout = RunLayout.of(run)
    if not record.exists(layout):
        return None
    cfg = record.read(layout).get("config", {})
    for st in cfg.get("stages", []):
        if st.get("op") == "mix" or st.get("name") == "mix":
            t = st.get("target") or (st.get("params") or {}).get("target")
            if t:
                return {k: float(v) for k, v in t.items()}
    return None


# ---------------------------------------------------------------------------------------------
# reading


def _read_jsonl(part: Part) -> pa.Table:
    with part.filesystem.open_input_stream(part.path, compression=None) as f:  # no auto-decompression
        raw = f.read()
    if part.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if not raw.strip():
        return pa.table({})
    return pj.read_json(io.BytesIO(raw))


def read_part(part: Part, text_column: str, columns: tuple[str, ...] = EXTRA_COLUMNS,
              scores: tuple[str, ...] = ()) -> pa.Table:
    """The ``text`` (renamed from ``text_column``) and available ``columns`` (as strings) and
    ``scores`` (as float64, for ``--select``) of one file, as a table."""
    if part.name.endswith(".parquet"):
        fs = part.filesystem
        names = pq.ParquetFile(part.path, filesystem=fs).schema_arrow.names
        want = [c for c in (text_column, *columns, *scores, "stage") if c in names]
        t = pq.read_table(part.path, columns=want, filesystem=fs)
    else:
        t = _read_jsonl(part)
    if text_column not in t.column_names:
        raise SourceError(f"{part.uri}: no column {text_column!r}")
    if part.stages is not None and "stage" in t.column_names:
        t = t.filter(pc.is_in(t.column("stage"), pa.array(list(part.stages))))
    cols = {"text": pc.cast(t.column(text_column), pa.large_string())}
    for c in columns:
        if c in t.column_names:
            cols[c] = pc.cast(t.column(c), pa.string())
    for c in scores:
        if c in t.column_names:
            cols[c] = pc.cast(t.column(c), pa.float64())
    return pa.table(cols)
