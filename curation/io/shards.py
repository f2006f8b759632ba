"""Find input files and cut them into shards of bounded size, deterministically.

A path may be a file or a folder, searched recursively, in sorted order, on any filesystem
(:mod:`curation.io.fs`). A shard is a list of file parts whose total size stays under ``max_bytes``
(a Parquet file larger than that is split by row groups; other files are never split, so one huge
WARC is one shard). The plan depends on the inputs only, never on the workers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from curation import schema
from curation.io import fs as fsx
from curation.io.readers import file_kind
from curation.io.readers.common import FilePart, file_size
from curation.io.readers.options import ReaderOptions


class InputError(ValueError):
    """A user-facing problem with the inputs (missing path, nothing to read)."""


@dataclass(frozen=True)
class Shard:
    index: int
    parts: tuple[FilePart, ...]
    #: how its Parquet/JSONL/.txt files are read (the pipeline's ``input.reader``)
    options: ReaderOptions = field(default_factory=ReaderOptions)

    @property
    def name(self) -> str:
        return schema.SHARD_NAME.format(self.index)


def discover(paths: list[str]) -> list[FilePart]:
    found: list[FilePart] = []
    for given in paths:
        if fsx.is_uri(given) and not fsx.is_local(given):
            found.extend(_discover_uri(given))
            continue
        if given.startswith("file://"):
            given = fsx.resolve(given)[1]
        if not os.path.exists(given):
            raise InputError(f"input not found: {given}")
        root = os.path.abspath(given)
        if os.path.isfile(given):
            kind = file_kind(given)
            if kind is None:
                raise InputError(f"unsupported input file type: {given}")
            found.append(FilePart(root, kind, os.path.dirname(root)))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                kind = file_kind(fn)
                if kind:
                    found.append(FilePart(os.path.join(dirpath, fn), kind, root))
    if not found:
        raise InputError(f"no readable inputs (WARC, HTML, Parquet, JSONL, .txt) under: {', '.join(paths)}")
    return found


def _discover_uri(given: str) -> list[FilePart]:
    """Input files under a URI (``s3://bucket/prefix/``, ``gs://...``), in sorted order."""
    fs, path = fsx.resolve(given)
    info = fsx.info(fs, path)
    if info.type == fsx.pafs.FileType.NotFound:
        raise InputError(f"input not found: {given}")
    if info.type == fsx.pafs.FileType.File:
        kind = file_kind(path)
        if kind is None:
            raise InputError(f"unsupported input file type: {given}")
        return [FilePart(given, kind, given.rsplit("/", 1)[0])]
    root = given.rstrip("/")
    out = []
    for i in fsx.files(fs, path, recursive=True):
        kind = file_kind(i.path)
        if kind:
            out.append(FilePart(root + "/" + i.path[len(path):].lstrip("/"), kind, root))
            fsx.remember_size(out[-1].path, i.size)
    return out


def _split_parquet(part: FilePart, max_bytes: int) -> list[FilePart]:
    try:
        meta = fsx.parquet_file(part.path).metadata
    except Exception:
        return [part]  # reported as unreadable when read
    groups, size, out = [], 0, []
    for i in range(meta.num_row_groups):
        if meta.row_group(i).num_rows == 0 and meta.num_rows > 0:
            continue  # an empty row group holds no document (and must not become an `empty` part)
        rg = meta.row_group(i).total_byte_size
        if groups and size + rg > max_bytes:
            out.append(FilePart(part.path, part.kind, part.root, tuple(groups)))
            groups, size = [], 0
        groups.append(i)
        size += rg
    if groups or not out:
        out.append(FilePart(part.path, part.kind, part.root, tuple(groups)))
    return out


def plan_parts(found: list[FilePart], max_bytes: int, options: ReaderOptions | None = None) -> list[Shard]:
    """Shards of the file parts ``found`` (in their order), each under ``max_bytes``."""
    parts: list[FilePart] = []
    for part in found:
        if part.kind == "parquet" and file_size(part.path) > max_bytes:
            parts.extend(_split_parquet(part, max_bytes))
        else:
            parts.append(part)
    shards: list[list[FilePart]] = []
    size = 0
    for part in parts:
        psize = file_size(part.path)
        if part.row_groups is not None and len(part.row_groups) < _num_row_groups(part.path):
            psize = max_bytes  # a split Parquet file fills its own shard
        if not shards or size + psize > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(part)
        size += psize
    options = options or ReaderOptions()
    return [Shard(i, tuple(p), options) for i, p in enumerate(shards)]


def plan_shards(paths: list[str], max_bytes: int, options: ReaderOptions | None = None) -> list[Shard]:
    """Deterministic shard plan: the same inputs give the same shards, whatever the workers."""
    return plan_parts(discover(paths), max_bytes, options)


def _num_row_groups(path: str) -> int:
    try:
        return fsx.parquet_file(path).metadata.num_row_groups
    except Exception:
        return 0
