"""``manifest.json``: the curated output of a run, for the trainer and the report.

One writer (:func:`write`, the driver after the mix stage, from per-shard summaries), one way to
add a section later (:func:`update`, e.g. the tokenize stage's ``tokens``), one reader
(:func:`read` and the trainer's :class:`Manifest`). The format is versioned (``format``); the
reader refuses versions it does not know. File paths inside are relative to the manifest's folder,
so a run folder can be moved or copied: the tokenizer the tokens were counted and written with
is copied into the run (``tokenizer.json``, or ``tokenizer/`` for a Hugging Face folder) and named
by that relative path (``tokenizer``, ``tokens.tokenizer``); ``source_run`` is ``"."``.

Format ``curation.mix/1``: ``text_column``, ``tokenizer``, ``mix`` and ``anneal`` (each
``{"files": [...], "documents": {domain: distinct documents}, "distinct_documents": n,
"occurrences": {domain: rows, one per copy}, "tokens": {domain: tokens of the rows}}``), ``target_mix``,
``achieved_mix``, ``config``, ``source_run``, ``topic_tokens``, and when planned ``available``,
``epochs``, ``notes``.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

from curation.io import fs as fsx
from curation.run.commit import write_bytes_atomic
from curation.run.layout import MANIFEST, RunLayout

FORMAT = "curation.mix/1"
#: formats this reader understands
SUPPORTED = (FORMAT,)


def encode(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode("utf-8")


def write(layout: RunLayout, manifest: dict) -> str:
    manifest = relocatable(layout, {"format": FORMAT, **{k: v for k, v in manifest.items() if k != "format"}})
    return write_bytes_atomic(layout.fs, layout.manifest(), encode(manifest))


#: where a tokenizer named by a manifest is copied inside the run: a file, or a Hugging Face folder
TOKENIZER_FILE, TOKENIZER_DIR = "tokenizer.json", "tokenizer"


def _copy_tokenizer(layout: RunLayout, named: str) -> str:
    """A local tokenizer (file or folder) copied into the run; returns its path relative to the run."""
    src = Path(named)
    if src.is_dir():
        for f in sorted(x for x in src.iterdir() if x.is_file()):
            write_bytes_atomic(layout.fs, layout.path(TOKENIZER_DIR, f.name), f.read_bytes())
        return TOKENIZER_DIR
    data = src.read_bytes()
    dest = layout.path(TOKENIZER_FILE)
    if not (fsx.is_file(layout.fs, dest) and fsx.read_bytes(layout.fs, dest) == data):
        write_bytes_atomic(layout.fs, dest, data)
    return TOKENIZER_FILE


def _relative(layout: RunLayout, named: str | None) -> str | None:
    if not named or not os.path.isabs(named):
        return named
    root = layout.root.rstrip("/") + "/"
    if layout.is_local and named.startswith(root):
        return named[len(root):]
    if os.path.exists(named):
        return _copy_tokenizer(layout, named)
    return named


def relocatable(layout: RunLayout, manifest: dict) -> dict:
    """The manifest with no absolute path: tokenizers copied into the run, ``source_run`` ``"."``."""
    m = dict(manifest)
    if "tokenizer" in m:
        m["tokenizer"] = _relative(layout, m["tokenizer"])
    if isinstance(m.get("tokens"), dict) and "tokenizer" in m["tokens"]:
        m["tokens"] = {**m["tokens"], "tokenizer": _relative(layout, m["tokens"]["tokenizer"])}
    if m.get("source_run") == layout.uri or m.get("source_run") == layout.root:
        m["source_run"] = "."
    return m


def exists(layout: RunLayout) -> bool:
    return fsx.is_file(layout.fs, layout.manifest())


def read(layout: RunLayout) -> dict:
    """The manifest of a run (FileNotFoundError when absent, ValueError when not readable)."""
    return _parse(fsx.read_bytes(layout.fs, layout.manifest()), layout.display(layout.manifest()))


def update(layout: RunLayout, **sections) -> dict:
    """Add or replace top-level sections of an existing manifest (``update(layout, tokens={...})``)."""
    m = read(layout)
    m.update(sections)
    write(layout, m)
    return m


def merge(layout: RunLayout, result: dict) -> dict:
    """Store a global stage's ``finalize`` result: a dict with ``format`` is a whole new manifest (the
    mix); otherwise its keys are sections added to the existing manifest (the tokenize stage's
    ``tokens``), or to a new one when the run has none yet (a pipeline without a mix stage)."""
    if "format" in result or not exists(layout):
        write(layout, result)
        return {"format": FORMAT, **{k: v for k, v in result.items() if k != "format"}}
    return update(layout, **result)


def _parse(data: bytes, where: str) -> dict:
    try:
        raw = json.loads(data)
    except ValueError as e:
        raise ValueError(f"{where}: not valid JSON ({e})") from None
    fmt = raw.get("format", "") if isinstance(raw, dict) else ""
    if fmt not in SUPPORTED:
        raise ValueError(f"{where}: unknown manifest format {fmt!r} (expected one of {', '.join(SUPPORTED)})")
    return raw


class Manifest:
    """A run's manifest for reading (the trainer): ``path`` is the manifest file or its run folder,
    local or a URI. ``files(phase)`` are local paths, or URIs on remote filesystems."""

    def __init__(self, path: str | os.PathLike, text_column: str | None = None):
        s = os.fspath(path)
        fs, p = fsx.resolve(s)
        if fsx.is_dir(fs, p):
            p = posixpath.join(p, MANIFEST)
        self.fs, self._path = fs, p
        self.path = Path(p) if fsx.local(fs) else fsx.to_uri(fs, p)
        if not fsx.is_file(fs, p):
            raise FileNotFoundError(f"manifest not found: {self.path}")
        self.raw = _parse(fsx.read_bytes(fs, p), str(self.path))
        self._root = posixpath.dirname(p)
        self.root = Path(self._root) if fsx.local(fs) else fsx.to_uri(fs, self._root)
        self.text_column = text_column or self.raw.get("text_column", "text")

    def resolve(self, rel: str | None):
        """A path the manifest names (relative to its folder; absolute in older manifests) as a local
        path or URI, or None."""
        if not rel:
            return None
        full = rel if os.path.isabs(rel) or fsx.is_uri(rel) else posixpath.normpath(posixpath.join(self._root, rel))
        return Path(full) if fsx.local(self.fs) and not fsx.is_uri(full) else fsx.to_uri(self.fs, full)

    def tokenizer(self, section: str | None = None):
        """The tokenizer of the mix (``section=None``) or of the token shards (``"tokens"``), resolved."""
        raw = (self.raw.get(section) or {}) if section else self.raw
        return self.resolve(raw.get("tokenizer"))

    def files(self, phase: str) -> list:
        section = self.raw.get(phase) or {}
        out = []
        for rel in section.get("files", []):
            full = posixpath.normpath(posixpath.join(self._root, rel))
            if not fsx.is_file(self.fs, full):
                raise FileNotFoundError(f"{self.path}: {phase} file missing: {fsx.to_uri(self.fs, full)}")
            out.append(Path(full) if fsx.local(self.fs) else fsx.to_uri(self.fs, full))
        return out

    def tokens(self, phase: str) -> int:
        return int(sum((self.raw.get(phase) or {}).get("tokens", {}).values()))

    def iter_texts(self, phase: str = "mix"):
        for f in self.files(phase):
            pf = fsx.parquet_file(str(f))
            for batch in pf.iter_batches(columns=[self.text_column], batch_size=1024):
                for t in batch.column(0).to_pylist():
                    if t:
                        yield t
