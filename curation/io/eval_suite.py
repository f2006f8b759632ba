"""The bundled eval suite: ``curation/data/eval/*.jsonl.gz`` (prose, news, code, math,
multilingual; sources and licenses in its SOURCES.md), one held-out text a line in ``text``.

Three layers read it, so the lowest of them owns it: the classifiers leave its texts out of their
training text (``classifiers.common.without_eval``), the trainer's ``--eval-every`` scores it
(``train.eval_bpb``) and ``curate evaluate`` scores it when no ``--eval`` is given
(``evaluation.suite``, which also reads the user's own eval files).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow.json as pj

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "eval"


def files() -> dict[str, Path]:
    """``{set name: file}``, the name being the file's name up to its first dot."""
    return {p.name.split(".")[0]: p for p in sorted(DEFAULT_DIR.glob("*.jsonl.gz"))}


def read(path: Path) -> list[str]:
    """The non-empty texts of one suite file."""
    return [t for t in pj.read_json(io.BytesIO(gzip.decompress(path.read_bytes()))).column("text").to_pylist() if t]


def texts() -> dict[str, list[str]]:
    """``{set name: texts}`` of the whole suite."""
    return {name: read(p) for name, p in files().items()}
