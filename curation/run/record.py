"""``run.json``: what a run is (resolved config, inputs, shards, stage groups, versions).

Written once by the driver when a run starts; a later start on the same folder must be the same
run (config, inputs and shards equal), and is then a resume.
"""

from __future__ import annotations

import json

from curation.io import fs as fsx
from curation.run.commit import read_json, write_bytes_atomic
from curation.run.layout import RunLayout

#: the keys that make two starts the same run
IDENTITY = ("config", "inputs", "shards")


class DifferentRunError(RuntimeError):
    pass


def input_name(path: str) -> str:
    """How an input is recorded: an absolute path when local, the URI otherwise."""
    import os

    return path if fsx.is_uri(path) else os.path.abspath(path)


def encode(record: dict) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_or_check(layout: RunLayout, record: dict) -> bool:
    """Write run.json; if the folder already holds a run, it must be the same run. True: resume."""
    path = layout.run_json()
    if fsx.exists(layout.fs, path):
        old = read_json(layout.fs, path)
        for key in IDENTITY:
            if old.get(key) != record.get(key):
                raise DifferentRunError(
                    f"{layout.uri} already holds a different run ({key} differs); "
                    "choose a new --output or delete the folder"
                )
        return True
    fsx.makedirs(layout.fs, layout.root)
    write_bytes_atomic(layout.fs, path, encode(record))
    return False


def exists(layout: RunLayout) -> bool:
    return fsx.is_file(layout.fs, layout.run_json())


def read(layout: RunLayout) -> dict:
    """The run record; FileNotFoundError naming the folder when it is not a run folder."""
    try:
        return read_json(layout.fs, layout.run_json())
    except FileNotFoundError:
        raise FileNotFoundError(f"not a run folder (no run.json): {layout.uri}") from None
