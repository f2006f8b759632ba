"""Pipeline files: YAML, validated before any work starts; errors name the field.

```yaml
name: llama3
input:                     # how inputs are cut and read (all optional)
  shard_max_bytes: 67108864
  batch_docs: 500
  max_record_bytes: 67108864
output:
  keep_rejected_text: true # rejected rows keep the extracted text (never the html)
stages:
  - op: extract            # an operator from curation.operators.REGISTRY
    name: extract          # optional; defaults to op; must be unique
    engine: trafilatura    # every other key is a parameter of the operator, validated by it
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curation.operators import operator_class


class ConfigError(ValueError):
    """A pipeline file that does not validate; the message names the file and the field."""


class InputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Inputs are grouped into shards of at most this many bytes on disk (a bigger single file
    #: is its own shard; Parquet is split by row groups).
    shard_max_bytes: int = Field(64 << 20, gt=0)
    #: Documents per Arrow batch handed to operators: bounds memory per worker.
    batch_docs: int = Field(500, gt=0)
    #: Records larger than this are rejected at read time without being decoded.
    max_record_bytes: int = Field(64 << 20, gt=0)


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_rejected_text: bool = True
    #: Parquet compression codec of every file the run writes.
    compression: str = "zstd"


class StageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: str
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "pipeline"
    input: InputConfig = Field(default_factory=InputConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    stages: list[StageConfig]

    @model_validator(mode="after")
    def _unique_names(self):
        names = [s.name for s in self.stages]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"stage names must be unique; repeated: {sorted(dup)}")
        if "read" in names:
            raise ValueError("'read' is reserved for the input stage")
        return self


def _stage_from_yaml(i: int, raw: Any) -> StageConfig:
    if not isinstance(raw, dict) or "op" not in raw:
        raise ConfigError(f"stages[{i}]: expected a mapping with an 'op' key, got {raw!r}")
    raw = dict(raw)
    op = raw.pop("op")
    name = raw.pop("name", op)
    try:
        cls = operator_class(op)
    except KeyError as e:
        raise ConfigError(f"stages[{i}].op: {e.args[0]}") from None
    try:
        params = cls.Params(**raw)
    except ValidationError as e:
        raise ConfigError(f"stages[{i}] ({name}): " + _explain(e)) from None
    return StageConfig(op=op, name=name, params=params.model_dump(mode="json"))


def _explain(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(root)"
        parts.append(f"field '{loc}': {err['msg']}")
    return "; ".join(parts)


def parse_pipeline(data: Any, source: str = "<pipeline>") -> PipelineConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    data = dict(data)
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{source}: field 'stages': expected a non-empty list of stages")
    try:
        data["stages"] = [_stage_from_yaml(i, s) for i, s in enumerate(stages)]
        return PipelineConfig(**data)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    except ValidationError as e:
        raise ConfigError(f"{source}: {_explain(e)}") from None


def load_pipeline(path: str | Path) -> PipelineConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pipeline file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    return parse_pipeline(data, str(path))
