"""The ``tokens`` section of a run's ``manifest.json`` (format ``curation.tokens/1``).

```json
"tokens": {
  "format": "curation.tokens/1", "dtype": "uint16", "vocab_size": 8192, "bos_id": 0, "eos_id": 1,
  "tokenizer": "/abs/path/tokenizer.json", "seed": 0,
  "mix": {
    "index":  [{"path": "tokens/mix/index.parquet/part-<hex>.parquet", "documents": 812, "tokens": 402113}, ...],
    "files":  [{"path": "tokens/mix/shard-00000.bin", "tokens": 150321}, ...],
    "documents": {"code": 120, ...},   # index rows (occurrences) per domain
    "tokens": {"code": 51022, ...}     # index lengths per domain: what training reads per epoch
  },
  "anneal": {...}
}
```
``index`` is in training order. ``files`` tokens are what is stored (a document repeated by the mix is
stored once and referenced by each of its index rows), so they can be below the index totals.

:func:`add_tokens_section` is the one writer (an atomic rewrite of the manifest); the trainer reads
the section with :func:`read_tokens_section`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FORMAT = "curation.tokens/1"
SECTION = "tokens"
MANIFEST = "manifest.json"
#: the manifest written when a pipeline has no ``mix`` stage (the trainer's reader needs a format)
BASE_FORMAT = "curation.mix/1"


def add_tokens_section(run_root: str | Path, section: dict) -> dict:
    """Set ``manifest.json``'s ``tokens`` section (creating a minimal manifest when there is none);
    written to a temporary name and renamed, so a reader never sees half a file."""
    path = Path(run_root) / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {
        "format": BASE_FORMAT, "text_column": "text", "tokenizer": section.get("tokenizer")}
    manifest[SECTION] = section
    tmp = path.with_name(f".tmp-{os.getpid()}-{MANIFEST}")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return manifest


def read_tokens_section(manifest: dict) -> dict | None:
    """The ``tokens`` section of a parsed manifest, or None (an older run: text only)."""
    section = manifest.get(SECTION)
    if not section:
        return None
    fmt = section.get("format", "")
    if not str(fmt).startswith("curation.tokens/"):
        raise ValueError(f"unknown tokens section format {fmt!r} (expected {FORMAT})")
    return section
