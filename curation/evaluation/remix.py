"""Re-mix a finished run with a new target: ``curate evaluate --mix-grid K --apply OUTPUT``.

The re-mixed run is made exactly as ``curate run PIPELINE --input RUN@STAGE --output OUTPUT`` makes
it (:func:`curation.engine.runner.run_pipeline`, the same column check and lineage in run.json):

* its input is ``RUN@<the stage before mix>``, found from the run's run.json groups
  (:func:`curation.evaluation.sources.stage_before_mix`; ``quality_select`` in
  ``pipelines/llama3.yaml``), so no stage before the mix is re-run;
* its stages are the run's own stages from ``mix`` on (mix, tokenize), with their resolved
  parameters from run.json, and only ``mix.target`` replaced (and ``mix.total_tokens`` when
  given: ``--apply-tokens``, a mix sized to the tokens a model will train on, so it holds no
  repeat that training does not need);
* the run's ``output`` and ``shuffle`` sections and the input's shard and batch sizes are kept
  (not its reader options: a ``RUN@STAGE`` is read with the columns the run wrote).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from curation.config import PipelineConfig, parse_pipeline
from curation.evaluation import sources
from curation.run import manifest
from curation.run.inputs import provided_columns
from curation.run.layout import RunLayout


@dataclass
class Remix:
    """What ``--apply`` runs: the input spec and the validated pipeline."""

    input: str
    config: PipelineConfig


def plan(run: str | os.PathLike | RunLayout, target: dict[str, float] | None = None,
         total_tokens: int | None = None) -> Remix:
    """The re-mix of ``run`` with ``target`` (None: the run's own target) and ``total_tokens`` (None:
    the run's own), checked before any work (sources.SourceError / curation.config.ConfigError with
    the reason)."""
    layout = RunLayout.of(run)
    spec = f"{layout.uri}@{sources.stage_before_mix(layout)}"
    cfg, stages = sources.stages_from_mix(layout)
    stages = copy.deepcopy(stages)
    if target is not None:
        stages[0]["target"] = {d: float(w) for d, w in target.items() if w > 0}
    if total_tokens is not None:
        stages[0]["total_tokens"] = int(total_tokens)
    data = {"name": f"{cfg.get('name', 'pipeline')}-remix", "stages": stages}
    for key in ("output", "shuffle"):
        if cfg.get(key):
            data[key] = cfg[key]
    inp = {k: v for k, v in (cfg.get("input") or {}).items() if k != "reader"}
    if inp:
        data["input"] = inp
    return Remix(spec, parse_pipeline(data, f"{layout.uri}/run.json (re-mix)", provided_columns([spec])))


def apply(run: str | os.PathLike | RunLayout, target: dict[str, float], output: str, *,
          workers: int | None = None, progress: bool = False, total_tokens: int | None = None) -> dict:
    """Run the re-mix into ``output``; returns its input, output, target and achieved mix."""
    from curation.engine.runner import RunOptions, run_pipeline

    r = plan(run, target, total_tokens)
    layout = run_pipeline(r.config, [r.input], output, RunOptions(workers=workers, progress=progress))
    m = manifest.read(layout)
    return {"input": r.input, "output": layout.uri, "pipeline": r.config.name,
            "target": r.config.stages[0].params["target"], "total_tokens": r.config.stages[0].params.get("total_tokens"),
            "achieved_mix": m.get("achieved_mix")}
