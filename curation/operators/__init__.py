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

REGISTRY: dict[str, str] = {
    "extract": "curation.operators.extract:Extract",
    "url_dedup": "curation.operators.url_dedup:UrlDedup",
    "url_filter": "curation.operators.url_filter:UrlFilter",
    "language": "curation.operators.language:Language",
    "pii": "curation.operators.pii:Pii",
    "heuristics": "curation.operators.heuristics:Heuristics",
    "kl_filter": "curation.operators.kl_filter:KlFilter",
    "quality": "curation.operators.quality:Quality",
    "domain": "curation.operators.domain:Domain",
    "quality_select": "curation.operators.quality_select:QualitySelect",
    "mix": "curation.operators.mix:Mix",
    "tokenize": "curation.operators.tokenize:Tokenize",
    "minhash_dedup": "curation.operators.minhash_dedup:MinhashDedup",
    "line_dedup": "curation.operators.line_dedup:LineDedup",
    "fluency": "curation.operators.fluency:Fluency",
    "decontaminate": "curation.operators.decontaminate:Decontaminate",
}


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
