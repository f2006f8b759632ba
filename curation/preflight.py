"""``curate validate``: what a run would do, checked without doing it.

Reads the pipeline (with ``--set`` overrides), validates every stage's parameters, lists the inputs
and cuts them into shards exactly as ``curate run`` would, and reports the stage groups (fused map
stages, global stages), the most key partitions a global stage could use (from the input size: the
engine sizes them from the previous stage's output, which is smaller), and the models the stages
need and whether the models folder has them. It starts no Ray, reads no document and writes
nothing.
"""

from __future__ import annotations

from curation.classifiers import models_dir as md
from curation.config import PipelineConfig
from curation.engine.plan import plan_groups
from curation.engine.runner import MIN_PARTS, PARTS_PER_GIB
from curation.io.sources import file_size
from curation.run.inputs import plan_inputs

#: models each operator loads (names of :data:`curation.classifiers.models_dir.ALL`)
MODELS_BY_OP = {"quality": ("quality_fasttext", "quality_roberta"), "domain": ("domain",),
                "mix": ("tokenizer",), "tokenize": ("tokenizer",)}


def _needed_models(stage) -> tuple[str, ...]:
    p = stage.params
    need = MODELS_BY_OP.get(stage.op, ())
    if stage.op == "quality":
        need = tuple(w for w, on in (("quality_fasttext", p.get("fasttext", True)),
                                     ("quality_roberta", p.get("roberta", True) and not p.get("roberta_path")))
                     if on)
    if stage.op in ("mix", "tokenize") and p.get("tokenizer"):
        return ()  # a named tokenizer file, not the models folder's
    return need


def needed_models(cfg: PipelineConfig) -> dict[str, dict]:
    """Each model the stages of ``cfg`` load: its folder, whether it is there, and the stages using it."""
    models: dict[str, dict] = {}
    for st in cfg.stages:
        for w in _needed_models(st):
            root = md.resolve(st.params.get("models"))
            e = models.setdefault(w, {"folder": str(root), "present": md.present(root)[w], "stages": []})
            e["stages"].append(st.name)
    return models


def training_notice(cfg: PipelineConfig) -> str | None:
    """One line for the start of a run that will train models first (None when every model is there)."""
    missing = {w: e for w, e in needed_models(cfg).items() if not e["present"]}
    if not missing:
        return None
    folders = sorted({e["folder"] for e in missing.values()})
    return (f"curation: models missing from {', '.join(folders)}: {', '.join(missing)}; this run trains them "
            f"into that folder when a stage first needs them (once, under a lock). To avoid it: curate train-classifiers "
            f"--if-missing beforehand, or set $CURATION_MODELS to a folder that has them (docs/service.md#models)")


def check(cfg: PipelineConfig, inputs: list[str]) -> dict:
    """The plan of a run of ``cfg`` over ``inputs`` (InputError when an input is missing or unreadable)."""
    shards = plan_inputs(inputs, cfg.input.shard_max_bytes, cfg.input.reader)  # as curate run plans them
    files = list(dict.fromkeys(p.path for s in shards for p in s.parts))  # a split Parquet file once
    total = sum(file_size(f) for f in files)
    groups = plan_groups(cfg)
    max_parts = max(MIN_PARTS, int(PARTS_PER_GIB * (total or 0) / (1 << 30)) + 1)
    models = needed_models(cfg)
    return {
        "pipeline": cfg.name,
        "inputs": {"files": len(files), "bytes": total},
        "shards": len(shards),
        "groups": [{"name": g.name, "kind": g.kind, "stages": g.stage_names,
                    **({"partitions_at_most": max_parts} if g.kind == "global" else {})} for g in groups],
        "models": models,
    }


def format_check(plan: dict) -> str:
    n_files, n_bytes = plan["inputs"]["files"], plan["inputs"]["bytes"]
    size = f", {n_bytes / 1e6:,.1f} MB"
    lines = [f"pipeline {plan['pipeline']}: valid",
             f"inputs: {n_files} file{'s' if n_files != 1 else ''}{size} -> {plan['shards']} "
             f"shard{'s' if plan['shards'] != 1 else ''}",
             "groups (map stages fused; each global stage alone):"]
    for g in plan["groups"]:
        parts = f", at most {g['partitions_at_most']} key partitions" if "partitions_at_most" in g else ""
        lines.append(f"  {g['name']:<22}{g['kind']:<8}{' + '.join(g['stages']) or '(read only)'}{parts}")
    if plan["models"]:
        lines.append("models:")
        for w, e in plan["models"].items():
            state = "present" if e["present"] else "missing: trained on first use (or run curate train-classifiers)"
            lines.append(f"  {w:<18}{state}  [{', '.join(e['stages'])}; {e['folder']}]")
    else:
        lines.append("models: none needed")
    return "\n".join(lines)
