"""Operator registry: pipeline files name operators by these keys.

Entries are import paths so that loading the registry imports nothing heavy (models, parsers).
"""

from __future__ import annotations

import importlib

from curation.operators.base import GlobalOperator, MapOperator, Operator, OpResult, Params

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


def operator_class(op: str) -> type[Operator]:
    try:
        target = REGISTRY[op]
    except KeyError:
        raise KeyError(f"unknown operator {op!r}; known: {', '.join(sorted(REGISTRY))}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["REGISTRY", "operator_class", "Operator", "MapOperator", "GlobalOperator", "OpResult", "Params"]
