"""``RUN@STAGE``: the documents a stage of a finished run kept, as a list of Parquet files. One
definition, used by ``curate run --input RUN@STAGE`` (:mod:`curation.run.inputs`) and by
``curate evaluate --arm NAME=RUN@STAGE`` (:mod:`curation.evaluation.sources`).

Stages run fused in groups and only a group's output is written (``NN-<last stage>/``), so the
documents kept by stage ``s`` of a group are the group's output plus the rows the group's later
stages rejected (rejected rows carry their text unless ``output.keep_rejected_text`` was off).
Their text is as the group left it (a later ``pii`` stage of the same group has redacted it).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import pyarrow.fs as pafs

from curation.io import fs as fsx
from curation.run import manifest, record
from curation.run.commit import committed
from curation.run.layout import RunLayout

#: columns of rejected rows that are the verdict, not the document
VERDICT = ("stage", "reason", "detail")


class StageOutputError(ValueError):
    """A RUN@STAGE that names no finished stage output; the message says why."""


@dataclass
class StageOutput:
    spec: str
    layout: RunLayout
    stage: str
    group: str
    #: the group's committed output files (paths on ``layout.fs``)
    kept: list[str]
    #: (rejected file, the later stage of the group that rejected its rows)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def later(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for _, s in self.rejected))

    def uri(self, path: str) -> str:
        return fsx.to_uri(self.layout.fs, path)

    def columns(self) -> list[str]:
        """The document columns of the stage's output (from one Parquet footer): the ``text`` and
        every column the stages up to its group provided (domain, quality, lang, ...)."""
        import pyarrow.parquet as pq

        names = pq.ParquetFile(self.kept[0], filesystem=self.layout.fs).schema_arrow.names
        return [c for c in names if c not in VERDICT]

    def lineage(self) -> dict:
        """What a run made from this stage records in its run.json: the source run, the stage, and
        the source run's identity (a hash of its run.json) and versions."""
        raw = self.layout.fs.open_input_stream(self.layout.run_json()).read()
        rec = record.read(self.layout)
        out = {"run": self.layout.uri, "stage": self.stage, "group": self.group,
               "run_id": hashlib.sha256(raw).hexdigest()[:16], "pipeline": rec.get("pipeline"),
               "curation": (rec.get("versions") or {}).get("curation")}
        if rec.get("lineage"):
            out["lineage"] = rec["lineage"]  # the source was itself made from a run
        return out


def split_spec(spec: str) -> tuple[str, str] | None:
    """(run, stage) when ``spec`` is ``RUN@STAGE`` (an ``@`` and no file or folder of that name),
    else None."""
    if "@" not in str(spec):
        return None
    fs, p = fsx.resolve(spec)
    if fsx.info(fs, p).type != pafs.FileType.NotFound:
        return None
    run, stage = str(spec).rsplit("@", 1)
    return run, stage


def is_run(layout: RunLayout) -> bool:
    return record.exists(layout) or manifest.exists(layout)


def stage_output(spec: str, run: str | os.PathLike | RunLayout, stage: str) -> StageOutput:
    """The files holding what ``stage`` of ``run`` kept (StageOutputError when there are none)."""
    layout = RunLayout.of(run)
    if not fsx.is_dir(layout.fs, layout.root) or not is_run(layout):
        raise StageOutputError(f"{spec}: {layout.uri} is not a run folder")
    try:
        groups = record.read(layout).get("groups", [])
    except FileNotFoundError as e:
        raise StageOutputError(f"{spec}: {e}") from None
    for g in groups:
        if stage in g["stages"]:
            break
    else:
        known = [s for g in groups for s in g["stages"]]
        raise StageOutputError(f"{spec}: the run has no stage {stage!r} (stages: {', '.join(known)})")
    folder = layout.kept_dir(g["name"])
    kept = [i.path for i in committed(layout.fs, folder)]
    if not kept:
        raise StageOutputError(f"{spec}: {layout.display(folder)} holds no output (has the run finished that stage?)")
    rejected = []
    for s in g["stages"][g["stages"].index(stage) + 1:]:
        rejected += [(i.path, s) for i in committed(layout.fs, layout.rejected_dir(s))]
    return StageOutput(spec, layout, stage, g["name"], kept, rejected)
