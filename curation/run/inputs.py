"""A run's inputs: files and folders (read by :mod:`curation.io`), or ``RUN@STAGE``, the documents a
stage of a finished run kept (:mod:`curation.run.stage_output`), with all their columns. This is
where both become shards, what columns they bring to the pipeline's column check, and the lineage
a run records in its run.json."""

from __future__ import annotations

from curation.io.readers.common import FilePart
from curation.io.readers.options import ReaderOptions
from curation.io.shards import InputError, Shard, discover, plan_parts
from curation.run.stage_output import StageOutput, StageOutputError, split_spec, stage_output


class StageInputError(InputError):
    """A ``RUN@STAGE`` input that names no finished stage output."""


def stage_inputs(inputs: list[str]) -> list[StageOutput]:
    """The ``RUN@STAGE`` inputs among ``inputs``, resolved (StageInputError for a bad one)."""
    out = []
    for spec in inputs:
        parsed = split_spec(spec)
        if parsed is None:
            continue
        try:
            out.append(stage_output(spec, *parsed))
        except StageOutputError as e:
            raise StageInputError(str(e)) from None
    return out


def _parts(so: StageOutput) -> list[FilePart]:
    root = so.layout.uri
    return ([FilePart(so.uri(p), "run_stage", root) for p in so.kept]
            + [FilePart(so.uri(p), "run_stage", root, stages=(s,)) for p, s in so.rejected])


def plan_inputs(inputs: list[str], max_bytes: int, options: ReaderOptions | None = None) -> list[Shard]:
    """Shards of ``inputs`` in their order: a ``RUN@STAGE`` gives the stage's files, anything else
    the files found under it (:func:`curation.io.shards.discover`)."""
    stages = {so.spec: so for so in stage_inputs(inputs)}
    if not stages:
        return plan_parts(discover(inputs), max_bytes, options)
    found: list[FilePart] = []
    for spec in inputs:
        found.extend(_parts(stages[spec]) if spec in stages else discover([spec]))
    return plan_parts(found, max_bytes, options)


def provided_columns(inputs: list[str]) -> tuple[str, ...]:
    """The columns the ``RUN@STAGE`` inputs bring besides the readers' own: they count as provided
    upstream in the pipeline's column check (a ``mix`` after ``RUN@quality_select`` has ``domain``).
    With several inputs, only the columns every one of them has."""
    sets = [so.columns() for so in stage_inputs(inputs)]
    if not sets:
        return ()
    if len(sets) < len(inputs):  # a plain file input brings only the reader's columns
        return ()
    common = set(sets[0]).intersection(*sets[1:])
    return tuple(c for c in sets[0] if c in common)


def lineage(inputs: list[str]) -> list[dict]:
    """run.json's ``lineage``: one entry per ``RUN@STAGE`` input (empty for file inputs)."""
    return [so.lineage() for so in stage_inputs(inputs)]
