"""Pipeline files: YAML, validated before any work starts; errors name the field.

```yaml
name: llama3
input:                     # how inputs are cut and read (all optional)
  shard_max_bytes: 67108864
  batch_docs: 500
  max_record_bytes: 67108864
output:
  keep_rejected_text: true # rejected rows keep the extracted text (never the html)
shuffle:
  partitions: 512          # hash partitions of every global stage (default: 8 per GiB of its input)
stages:
  - op: extract            # an operator from curation.operators.REGISTRY, or module:Class (your own)
    name: extract          # optional; defaults to op (module:Class: the class's `name`); unique; a plain identifier
    engine: trafilatura    # every other key is a parameter of the operator, validated by it
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curation.operators import is_user_op, operator_class
from curation.operators.columns import MissingColumn, check_chain


class ConfigError(ValueError):
    """A pipeline file that does not validate; the message names the file and the field."""


#: A stage name becomes a folder name (``NN-<name>/``, ``rejected/<name>/``) and a DuckDB view
#: name: letters, digits and ``_``, starting with a letter or ``_``; no ``/``, ``..`` or spaces.
STAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_STAGE_NAME_RULE = "must be a plain identifier (letters, digits, '_'; at most 64 characters, not starting with a digit)"
#: Parquet codecs (pyarrow.parquet.write_table's ``compression``).
PARQUET_CODECS = ("none", "snappy", "gzip", "brotli", "lz4", "zstd")


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
    #: Parquet compression codec of every file the run writes: one of ``PARQUET_CODECS``.
    compression: str = "zstd"

    @field_validator("compression")
    @classmethod
    def _known_codec(cls, v: str) -> str:
        import pyarrow as pa

        name = v.lower()
        if name not in PARQUET_CODECS:
            raise ValueError(f"unknown Parquet codec {v!r}; choose one of {', '.join(PARQUET_CODECS)}")
        if name != "none" and not pa.Codec.is_available(name):
            raise ValueError(f"Parquet codec {v!r} is not available in this pyarrow build")
        return name


class ShuffleConfig(BaseModel):
    """The hash partitions of every global stage (url_dedup, minhash_dedup, mix, ...).

    ``partitions`` unset (the default): derived from the stage's input size, 8 per GiB and at
    least 4 (``curation.engine.runner.PARTS_PER_GIB``, ``MIN_PARTS``), so a combine call holds
    about 128 MiB of input's keys. Set: that many partitions for every global stage. The documents
    kept and the mix never depend on it (tests/engine/test_shuffle_option.py); the token order
    does (docs/tokens.md)."""

    model_config = ConfigDict(extra="forbid")
    #: At most 1,000,000: each spill file holds an index of 8 bytes per partition.
    partitions: int | None = Field(None, gt=0, le=1_000_000)


class StageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: str
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not STAGE_NAME.fullmatch(v):
            raise ValueError(f"stage name {v!r} {_STAGE_NAME_RULE}")
        return v


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "pipeline"
    input: InputConfig = Field(default_factory=InputConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    shuffle: ShuffleConfig = Field(default_factory=ShuffleConfig)
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
    if not isinstance(op, str):
        raise ConfigError(f"stages[{i}].op: expected an operator name or module:Class, got {op!r}")
    try:
        cls = operator_class(op)
    except KeyError as e:
        raise ConfigError(f"stages[{i}].op: {e.args[0]}") from None
    name = raw.pop("name", _user_stage_name(cls) if is_user_op(op) else op)
    if not isinstance(name, str) or not STAGE_NAME.fullmatch(name):
        raise ConfigError(f"stages[{i}].name: {name!r} {_STAGE_NAME_RULE}")
    try:
        params = cls.Params(**raw)
    except ValidationError as e:
        raise ConfigError(f"stages[{i}] ({name}): " + _explain(e)) from None
    return StageConfig(op=op, name=name, params=params.model_dump(mode="json"))


def _user_stage_name(cls) -> str:
    """A user operator's default stage name: its ``name``, else its class name in snake_case."""
    if cls.name != "operator":
        return cls.name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


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
        cfg = PipelineConfig(**data)
        check_columns(cfg)
        return cfg
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    except ValidationError as e:
        raise ConfigError(f"{source}: {_explain(e)}") from None


def check_columns(cfg: PipelineConfig) -> None:
    """Every stage's required columns come from the readers or a stage before it (ConfigError)."""
    ops = [(s.name, operator_class(s.op)(s.params, stage=s.name)) for s in cfg.stages]
    try:
        check_chain(ops)
    except MissingColumn as e:
        raise ConfigError(str(e)) from None


def load_pipeline(path: str | Path) -> PipelineConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pipeline file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    return parse_pipeline(data, str(path))
