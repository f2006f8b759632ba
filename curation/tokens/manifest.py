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

The tokenize stage's ``finalize`` returns ``{"tokens": section}`` and the engine adds it to the
manifest through :func:`curation.run.manifest.update` (the run package owns ``manifest.json``); the
trainer reads the section with :func:`read_tokens_section`.
"""

from __future__ import annotations

FORMAT = "curation.tokens/1"
SECTION = "tokens"


def read_tokens_section(manifest: dict) -> dict | None:
    """The ``tokens`` section of a parsed manifest, or None (an older run: text only)."""
    section = manifest.get(SECTION)
    if not section:
        return None
    fmt = section.get("format", "")
    if not str(fmt).startswith("curation.tokens/"):
        raise ValueError(f"unknown tokens section format {fmt!r} (expected {FORMAT})")
    return section
