"""What ``curate ops`` prints: each operator's kind, parameters (type and default), the columns it
requires and provides and its resources, read from the same declarations the pipeline check and
the engine use (``Params``, ``requires``/``provides``, ``num_cpus``/``num_gpus``), with the
operator built from its default parameters (a property such as ``quality``'s ``provides`` may
depend on them)."""

from __future__ import annotations

import inspect
import json

from curation.operators import REGISTRY, operator_class
from curation.operators.base import GlobalOperator


def _type_name(annotation) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def describe(op: str) -> dict:
    """One operator (a registry name or ``module:Class``) as a JSON-able dict."""
    cls = operator_class(op)
    inst = cls()
    params = []
    for name, f in cls.Params.model_fields.items():
        default = None if f.is_required() else f.get_default(call_default_factory=True)
        params.append({"name": name, "type": _type_name(f.annotation), "required": f.is_required(),
                       "default": json.loads(json.dumps(default, default=str))})
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "") or inspect.getdoc(inspect.getmodule(cls)) or ""
    return {"op": op, "name": cls.name, "kind": "global" if isinstance(inst, GlobalOperator) else "map",
            "summary": " ".join(doc.strip().split("\n\n")[0].split()),
            "requires": list(inst.requires), "provides": list(inst.provides),
            "num_cpus": cls.num_cpus, "num_gpus": cls.num_gpus, "params": params}


def catalog(ops: list[str] | None = None) -> list[dict]:
    """Every built-in operator (or the named ones), sorted by name."""
    return [describe(op) for op in (ops or sorted(REGISTRY))]


def format_catalog(entries: list[dict]) -> str:
    lines = []
    for e in entries:
        res = f"cpus {e['num_cpus']:g}" + (f", gpus {e['num_gpus']:g}" if e["num_gpus"] else "")
        lines.append(f"{e['op']}  ({e['kind']}; {res})")
        if e["summary"]:
            lines.append(f"  {e['summary'][:200]}")
        lines.append(f"  requires: {', '.join(e['requires']) or '-'}")
        lines.append(f"  provides: {', '.join(e['provides']) or '-'}")
        for p in e["params"]:
            default = "(required)" if p["required"] else json.dumps(p["default"])
            if len(default) > 80:
                default = default[:77] + "..."
            lines.append(f"    {p['name']}: {p['type']} = {default}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
