"""Operator registry: pipeline files name operators by these keys, or by ``module:Class``.

Entries are import paths so that loading the registry imports nothing heavy (models, parsers).
A user's operator needs no entry: ``op: my_filters:NoLorem`` imports ``NoLorem`` from the module
``my_filters`` (on ``PYTHONPATH``, installed, or in the current directory) and validates it like
a built-in. The engine makes the module's folder importable on its workers (see
``user_module_paths``); on a cluster, ship the module with ``ray job submit --working-dir``.
"""

from __future__ import annotations

import importlib
import os
import sys

from curation.operators.annotator import Annotator
from curation.operators.base import GlobalOperator, MapOperator, Operator, OpResult, Params, ready
from curation.operators.context import ShardContext
from curation.operators.filter import Decision, Filter, reasons_where

def _built_ins(folder: str | None = None, package: str = "curation.operators") -> dict[str, str]:
    """``{name: "curation.operators.<name>:Class"}`` for every module of this package that defines an
    operator class whose ``name = "<module name>"``: a built-in is one file, with nothing to register.
    Found from the modules' source (``ast``), so loading the registry imports nothing heavy."""
    import ast

    found: dict[str, str] = {}
    folder = folder or os.path.dirname(os.path.abspath(__file__))
    for fn in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(fn)
        if ext != ".py" or stem.startswith("_"):
            continue
        with open(os.path.join(folder, fn), encoding="utf-8") as f:
            tree = ast.parse(f.read(), fn)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(st, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "name" for t in st.targets)
                    and isinstance(st.value, ast.Constant) and st.value.value == stem for st in node.body):
                found[stem] = f"{package}.{stem}:{node.name}"
    return found


#: built-in operator names -> ``module:Class`` (each in ``curation/operators/<name>.py``)
REGISTRY: dict[str, str] = _built_ins()


def is_user_op(op: str) -> bool:
    """True for ``module:Class`` (an operator from the user's own module)."""
    return ":" in op


def operator_class(op: str) -> type[Operator]:
    """The class of a built-in operator name or of ``module:Class``; KeyError (one line) if none."""
    if is_user_op(op):
        return _user_class(op)
    try:
        target = REGISTRY[op]
    except KeyError:
        raise KeyError(f"unknown operator {op!r}; known: {', '.join(sorted(REGISTRY))}, "
                       f"or module:Class for your own") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _user_class(op: str) -> type[Operator]:
    module_name, _, attr = op.partition(":")
    if not module_name or not attr or ":" in attr:
        raise KeyError(f"operator {op!r}: expected module:Class (e.g. my_filters:NoLorem)")
    if os.getcwd() not in sys.path and "" not in sys.path:  # `curate` as a script: the current directory too
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise KeyError(f"operator {op!r}: cannot import module {module_name!r} ({e}); put it on PYTHONPATH "
                       f"or in the current directory") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Operator)) or cls in _BASES:
        raise KeyError(f"operator {op!r}: {attr!r} in {module_name} is not a subclass of "
                       f"curation.operators.Filter, Annotator, MapOperator or GlobalOperator")
    return cls


_BASES = (Operator, MapOperator, GlobalOperator, Filter, Annotator)


def user_module_paths(ops) -> list[str]:
    """The ``sys.path`` folders the user modules of ``ops`` (op strings) were imported from: the
    engine puts them on its workers' ``PYTHONPATH`` so they import the same module."""
    out: list[str] = []
    for op in ops:
        if not is_user_op(op):
            continue
        module_name = op.partition(":")[0]
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        root = os.path.dirname(os.path.abspath(path))
        for _ in range(module_name.count(".") + (1 if path.endswith("__init__.py") else 0)):
            root = os.path.dirname(root)
        if root not in out:
            out.append(root)
    return out


__all__ = ["REGISTRY", "operator_class", "is_user_op", "user_module_paths", "Operator", "MapOperator",
           "GlobalOperator", "Filter", "Decision", "Annotator", "reasons_where", "OpResult", "Params", "ShardContext", "ready"]
