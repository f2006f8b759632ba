"""The Python API: build a pipeline from operator objects or a YAML file, run it locally or on a
Ray cluster, and get the run back (its status, its DuckDB views, its manifest). docs/api.md shows
it; ``examples/run_pipeline.py`` runs it.

```python
from curation.api import Pipeline
from curation.operators.extract import Extract
from no_lorem import NoLorem                      # your own Filter subclass

pipe = Pipeline([Extract({"engine": "resiliparse"}), NoLorem({"phrase": "lorem ipsum"})], name="lorem")
run = pipe.run(["sample/warc"], "/tmp/lorem-run", workers=2)      # address="ray://head:10001" for a cluster
run.status()["stages"]["no_lorem"]                # {"in": ..., "kept": ..., "rejected": ...}
run.query("SELECT reason, count(*) FROM rejected GROUP BY 1")
Pipeline.from_yaml("pipelines/llama3.yaml").run(["runs/sample@quality_select"], "/tmp/remix")
```

A pipeline is checked exactly as ``curate run`` checks it (operators, parameters, declared columns,
the columns a ``RUN@STAGE`` input brings) before any work starts; errors are
:class:`curation.config.ConfigError` and :class:`curation.io.sources.InputError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from curation.config import PipelineConfig, apply_overrides, load_pipeline, parse_pipeline
from curation.operators import REGISTRY
from curation.operators.base import Operator
from curation.run.layout import RunLayout

__all__ = ["Pipeline", "Run", "open_run"]


def _op_name(op: Operator) -> str:
    """The pipeline file's ``op:`` of an operator object: its registry name, else ``module:Class``."""
    cls = type(op)
    target = f"{cls.__module__}:{cls.__qualname__}"
    for name, path in REGISTRY.items():
        if path == target:
            return name
    return target


def _stage(op: Operator | dict) -> dict:
    if isinstance(op, dict):  # a stage as a pipeline file writes it: {"op": "mix", "target": {...}}
        return dict(op)
    if not isinstance(op, Operator):
        raise TypeError(f"a stage is an operator object or a mapping with 'op', not {type(op).__name__}")
    return {"op": _op_name(op), "name": op.stage, **op.params.model_dump(mode="json")}


class Pipeline:
    """Stages (operator objects, or mappings as in a pipeline file) plus the file's other sections
    (``input``, ``output``, ``shuffle``: mappings as in YAML)."""

    def __init__(self, stages: list[Operator | dict], name: str = "pipeline", *, input: dict | None = None,
                 output: dict | None = None, shuffle: dict | None = None):
        self._data: dict[str, Any] = {"name": name, "stages": [_stage(s) for s in stages]}
        for key, value in (("input", input), ("output", output), ("shuffle", shuffle)):
            if value is not None:
                self._data[key] = value
        self._source = f"<pipeline {name}>"
        self.config()  # checked now: operators, parameters, declared columns (no inputs yet)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> "Pipeline":
        """A pipeline file, with ``--set``-style overrides (``["mix.seed=1"]``)."""
        load_pipeline(path, overrides)  # its errors name the file
        with open(path, encoding="utf-8") as f:
            data = apply_overrides(yaml.safe_load(f), overrides)
        self = cls.__new__(cls)
        self._data, self._source = data, str(path)
        return self

    def config(self, inputs: list[str] | None = None) -> PipelineConfig:
        """The validated config; with ``inputs``, the columns their ``RUN@STAGE`` brings count."""
        from curation.run.inputs import provided_columns

        return parse_pipeline(self._data, self._source, provided_columns(list(inputs or [])))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self._data, sort_keys=False)

    def run(self, inputs: list[str] | str, output: str | os.PathLike, *, workers: int | None = None,
            address: str | None = None, progress: bool = False, verbose: bool = False) -> "Run":
        """Run over ``inputs`` (paths, URIs or ``RUN@STAGE``) into the run folder ``output``: on an
        in-process local Ray, or on the cluster at ``address`` (default ``$RAY_ADDRESS``). Re-running
        resumes. Returns the finished :class:`Run`."""
        from curation.engine.runner import RunOptions, run_pipeline

        inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
        inputs = [os.fspath(p) for p in inputs]
        layout = run_pipeline(self.config(inputs), inputs, os.fspath(output),
                              RunOptions(workers=workers, address=address, progress=progress, verbose=verbose))
        return Run(layout)


class Run:
    """A run folder (local, S3, GCS): what ``curate status``, ``curate query`` and the manifest say."""

    def __init__(self, output: str | os.PathLike | RunLayout):
        self.layout = RunLayout.of(output)

    @property
    def uri(self) -> str:
        return self.layout.uri

    def status(self) -> dict:
        """``curate status --json``: per stage in/kept/rejected, and the run's state."""
        from curation.status import run_status

        return run_status(self.layout)

    def views(self) -> list[str]:
        """The DuckDB views ``query`` offers (one per stage, ``rejected``, ``mix``, ...)."""
        from curation.query import view_names

        return view_names(self.layout)

    def query(self, sql: str) -> list[dict]:
        """Rows of ``sql`` over the run's views, as dicts (``curate query``; read-only)."""
        from curation.query import query

        cols, rows = query(self.layout, sql)
        return [dict(zip(cols, r)) for r in rows]

    def manifest(self) -> dict:
        from curation.run import manifest

        return manifest.read(self.layout)

    def stage(self, name: str) -> str:
        """``RUN@STAGE`` for this run: an input of another pipeline."""
        return f"{self.uri}@{name}"

    def __repr__(self) -> str:
        return f"Run({self.uri!r})"


def open_run(output: str | os.PathLike) -> Run:
    """A finished (or running) run folder."""
    layout = RunLayout.of(os.fspath(output) if isinstance(output, Path) else output)
    from curation.run import record

    record.read(layout)  # FileNotFoundError naming the folder when it is not a run
    return Run(layout)
