"""Pipeline files: YAML, validated before any work starts; errors name the field.

```yaml
name: llama3
input:                     # how inputs are cut and read (all optional)
  shard_max_bytes: 67108864
  batch_docs: 500
  max_record_bytes: 67108864
  reader:                  # which columns hold what; .txt files (docs/inputs.md)
    text_column: content
    metadata_columns: [license]
output:
  keep_rejected_text: true # rejected rows keep the extracted text (never the html)
shuffle:
  partitions: 512          # hash partitions of every global stage (default: 8 per GiB of its input)
stages:
  - op: extract            # an operator from curation.operators.REGISTRY, or module:Class (your own)
    name: extract          # optional; defaults to op (module:Class: the class's `name`); unique; a plain identifier
    engine: trafilatura    # every other key is a parameter of the operator, validated by it
```

Misspelled keys and operators get a "did you mean" (:func:`suggest`); ``--set stage.key=value``
overrides a parameter from the command line (:func:`apply_overrides`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curation.io.readers.options import ReaderOptions
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
    #: How Parquet/JSONL/.txt inputs are read: column names, metadata carried through (docs/inputs.md).
    reader: ReaderOptions = Field(default_factory=ReaderOptions)


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
        from curation.operators import REGISTRY

        raise ConfigError(f"stages[{i}].op: {e.args[0]}{suggest(op, REGISTRY)}") from None
    name = raw.pop("name", _user_stage_name(cls) if is_user_op(op) else op)
    if not isinstance(name, str) or not STAGE_NAME.fullmatch(name):
        raise ConfigError(f"stages[{i}].name: {name!r} {_STAGE_NAME_RULE}")
    try:
        params = cls.Params(**raw)
    except ValidationError as e:
        raise ConfigError(f"stages[{i}] ({name}): " + _explain(e, cls.Params)) from None
    return StageConfig(op=op, name=name, params=params.model_dump(mode="json"))


def _user_stage_name(cls) -> str:
    """A user operator's default stage name: its ``name``, else its class name in snake_case."""
    if cls.name != "operator":
        return cls.name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def suggest(word: str, known) -> str:
    """``"; did you mean 'extract'?"`` when ``word`` is close to one of ``known``, else ``""``."""
    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fields(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """The field names of the model at ``loc`` (the parent of an unknown key)."""
    for part in loc[:-1]:
        if model is None:
            return []
        f = model.model_fields.get(str(part))
        ann = getattr(f, "annotation", None) if f else None
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return list(model.model_fields) if model is not None else []


def _explain(e: ValidationError, model: type[BaseModel] | None = None) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(root)"
        hint = suggest(err["loc"][-1], _fields(model, err["loc"])) if err["type"] == "extra_forbidden" else ""
        parts.append(f"field '{loc}': {err['msg']}{hint}")
    return "; ".join(parts)


def apply_overrides(data: Any, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The YAML mapping with ``--set`` overrides: ``STAGE.KEY=VALUE`` (a stage by its name, or its op
    when unnamed; ``KEY`` may go deeper: ``heuristics.by_domain.code.code=false``) or
    ``input.KEY=VALUE`` / ``output.KEY=VALUE`` / ``name=VALUE``. VALUE is read as YAML (``0.5``,
    ``true``, ``[en, fr]``, ``null``)."""
    if not overrides:
        return data
    if not isinstance(data, dict):
        raise ConfigError("--set: the pipeline is not a mapping")
    data = dict(data)
    stages = [dict(st) if isinstance(st, dict) else st for st in data.get("stages") or []]
    data["stages"] = stages
    for item in overrides:
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. heuristics.min_words=30")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({' '.join(str(e).split())})") from None
        path = key.strip().split(".")
        if path[0] == "name" and len(path) == 1:
            data["name"] = value
            continue
        if path[0] in ("input", "output"):
            target = data.setdefault(path[0], {})
            data[path[0]] = target = dict(target or {})
            rest = path[1:]
        else:
            names = [st.get("name", st.get("op")) for st in stages if isinstance(st, dict)]
            if path[0] not in names:
                raise ConfigError(f"--set {item!r}: no stage {path[0]!r}{suggest(path[0], names)} "
                                  f"(stages: {', '.join(map(str, names))})")
            target = stages[names.index(path[0])]
            rest = path[1:]
        if not rest:
            raise ConfigError(f"--set {item!r}: name a key inside {path[0]!r}, e.g. {path[0]}.KEY=VALUE")
        for part in rest[:-1]:
            inner = target.get(part)
            target[part] = inner = dict(inner) if isinstance(inner, dict) else {}
            target = inner
        target[rest[-1]] = value
    return data


def parse_pipeline(data: Any, source: str = "<pipeline>", provided=()) -> PipelineConfig:
    """Validate a pipeline mapping; ``provided``: columns the inputs bring (those of a ``RUN@STAGE``
    input, :func:`curation.run.inputs.provided_columns`), counted as provided upstream."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    data = dict(data)
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{source}: field 'stages': expected a non-empty list of stages")
    try:
        data["stages"] = [_stage_from_yaml(i, s) for i, s in enumerate(stages)]
        cfg = PipelineConfig(**data)
        check_columns(cfg, provided)
        return cfg
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    except ValidationError as e:
        raise ConfigError(f"{source}: {_explain(e, PipelineConfig)}") from None


def check_columns(cfg: PipelineConfig, provided=()) -> None:
    """Every stage's required columns come from the readers (with ``input.reader.metadata_columns``),
    the inputs (``provided``) or a stage before it (ConfigError)."""
    ops = [(s.name, operator_class(s.op)(s.params, stage=s.name)) for s in cfg.stages]
    try:
        check_chain(ops, (*cfg.input.reader.metadata_columns, *provided))
    except MissingColumn as e:
        raise ConfigError(str(e)) from None


def load_pipeline(path: str | Path, overrides: list[str] | tuple[str, ...] = (), provided=()) -> PipelineConfig:
    """Read, override (``--set``) and validate a pipeline file (``provided``: see :func:`parse_pipeline`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pipeline file not found: {path}")
    try:
        with path.open(encoding="utf-8") as f:  # a stream with a name: errors say the file, not <unicode string>
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    return parse_pipeline(apply_overrides(data, overrides), str(path), provided)
