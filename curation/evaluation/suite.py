"""Eval sets: ``--eval NAME=FILE`` or the bundled default suite (``curation/data/eval/``).

A file is ``.jsonl``/``.jsonl.gz`` or ``.parquet`` with a ``text`` column (one held-out text a
row), or ``.txt`` (the whole file is one text). The default suite (sources and licenses in
``curation/data/eval/SOURCES.md``) has one set per file: prose, news, code, math, multilingual.
"""

from __future__ import annotations

from pathlib import Path

from curation.evaluation.sources import Part, SourceError, read_part
from curation.io import eval_suite

DEFAULT_DIR = eval_suite.DEFAULT_DIR


def load_file(path: str | Path) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"eval file not found: {p}")
    if p.suffix == ".txt":
        return [p.read_text(encoding="utf-8")]
    if not p.name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".parquet")):
        raise SourceError(f"{p}: an eval file is .jsonl(.gz), .parquet or .txt")
    return [t for t in read_part(Part(p), "text", ()).column("text").to_pylist() if t]


def default_suite() -> dict[str, Path]:
    return eval_suite.files()


def load(specs: list[str] | None) -> dict[str, list[str]]:
    """``NAME=FILE`` specs (or a bare FILE, named by its stem) to ``{name: texts}``; None: the default suite."""
    named: dict[str, Path] = {}
    if not specs:
        named = default_suite()
    for s in specs or []:
        name, sep, f = s.partition("=")
        if not sep:
            name, f = Path(s).name.split(".")[0], s
        if name in named:
            raise SourceError(f"--eval: the name {name!r} is given twice")
        named[name] = Path(f)
    out = {n: load_file(p) for n, p in named.items()}
    empty = [n for n, t in out.items() if not t]
    if empty:
        raise SourceError(f"eval set(s) with no text: {', '.join(empty)}")
    return out
