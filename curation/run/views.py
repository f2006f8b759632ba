"""The DuckDB views over a run, on any filesystem: what ``status``, ``query`` and ``report`` read.

Each view is a pyarrow dataset over the committed files of one folder (temporaries are never
listed), registered in DuckDB, so the same SQL runs on a local run folder and on one in S3 or GCS,
offline. Files of one view may have different columns (an empty shard, a stage that adds a
column): the dataset's schema is the union of theirs, missing columns read as nulls, like
``read_parquet(..., union_by_name=true)``.

Views (:func:`plan`): one per stage, fused or not, with the documents it kept (``extract``,
``url_dedup``, ...), each group folder by its own name (``"01-url_filter"``), ``rejected`` (every
dropped document with stage, reason, detail), ``stats`` (per stage and shard counters and
timings), ``mix`` (distinct documents with ``copies``), ``mix_occurrences`` and ``anneal`` when the
run has them, and ``final`` / ``kept`` (the last stage group's output). No SQL here is built from a path: views are registered objects, and view
names are reduced to word characters and quoted.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from curation.io import fs as fsx
from curation.run.commit import is_temporary
from curation.run.layout import GROUP_DIR, OUTPUTS, REJECTED, STATS, RunLayout


def view_name(stage: str) -> str:
    return re.sub(r"\W", "_", stage)


def quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def sources(layout: RunLayout) -> dict[str, list[str]]:
    """View name -> committed Parquet files (one listing of the whole run folder)."""
    out: dict[str, list[str]] = {}
    root = layout.root.rstrip("/") + "/"
    for info in fsx.files(layout.fs, layout.root, recursive=True):
        rel = info.path[len(root):] if info.path.startswith(root) else info.path
        parts = rel.split("/")
        name = parts[-1]
        if is_temporary(name) or not name.endswith(".parquet"):
            continue
        if len(parts) == 2 and GROUP_DIR.match(parts[0]) and name.startswith("part-"):
            out.setdefault(parts[0], []).append(info.path)
        elif len(parts) == 2 and parts[0] in OUTPUTS:
            out.setdefault(parts[0], []).append(info.path)
        elif len(parts) == 3 and parts[0] in (REJECTED, STATS) and name.startswith("part-"):
            out.setdefault(parts[0], []).append(info.path)
    return {k: sorted(v) for k, v in out.items()}


def dataset(layout: RunLayout, files: list[str]) -> ds.Dataset:
    """A dataset over ``files`` with the union of their schemas."""
    with ThreadPoolExecutor(max_workers=1 if layout.is_local else 16) as pool:
        schemas = list(pool.map(lambda f: pq.read_schema(f, filesystem=layout.fs), files))
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    return ds.dataset(files, schema=unified, format="parquet", filesystem=layout.fs)


def final_group(layout: RunLayout, run: dict, found: dict[str, list[str]]) -> str | None:
    """The last stage group (in run order) with committed output: what survives every filter."""
    for g in reversed(run.get("groups") or []):
        if found.get(g["name"]):
            return g["name"]
    return None


#: columns a rejected row has that a kept row has not
REJECT_COLUMNS = ("stage", "reason", "detail")


def plan(layout: RunLayout, run: dict | None, found: dict[str, list[str]]) -> dict[str, tuple]:
    """View name -> how to make it: ``("files", folder)`` (a dataset over the folder's files),
    ``("rows", folder, stages)`` (its rows of those stages) or ``("sql", SQL, [views it reads], folder)``.

    * every stage of the run, fused or not, is the documents it kept: the output of its group,
      plus the rows the later stages of the same group rejected (as ``RUN@STAGE`` reads them;
      ``extract`` of a group ``01-url_filter`` that fused extract and url_filter);
    * ``mix``: one row per distinct document of the mix, with ``copies`` (the times the trainer
      sees it); ``mix_occurrences``: the mix files themselves, one row per copy, with ``epoch``;
    * ``final`` and ``kept``: the last group's output.
    """
    out: dict[str, tuple] = {}
    for folder in found:
        if folder == "mix":
            out["mix_occurrences"] = ("files", folder)
            out["mix"] = ("sql", "SELECT * EXCLUDE (epoch), CAST(count(*) OVER (PARTITION BY id) AS INTEGER) AS "
                                 "copies FROM mix_occurrences QUALIFY epoch = 0", ["mix_occurrences"], folder)
        elif not GROUP_DIR.match(folder):
            out[folder] = ("files", folder)
    groups = {g["name"]: g.get("stages") for g in (run or {}).get("groups") or []}
    for folder in found:
        m = GROUP_DIR.match(folder)
        if not m:
            continue
        out[folder] = ("files", folder)  # the group's folder by its own name: FROM "01-url_filter"
        stages = groups.get(folder) or [m.group(2)]
        for i, stage in enumerate(stages):
            name = view_name(stage)
            if name in out:  # mix, rejected, stats: the run-level view keeps the name
                continue
            later = stages[i + 1:]
            if not later:
                out[name] = ("sql", f"SELECT * FROM {quote(folder)}", [folder], folder)
            elif "rejected" in found:
                # the rows the later stages of the group rejected: a dataset filtered on ``stage`` (a
                # pyarrow expression, no stage name inside SQL)
                dropped = f"_rejected_by_later_{name}"
                out[dropped] = ("rows", "rejected", list(later))
                out[name] = ("sql", (f"SELECT * FROM {quote(folder)} UNION ALL BY NAME SELECT * EXCLUDE "
                                     f"({', '.join(REJECT_COLUMNS)}) FROM {quote(dropped)}"),
                             [folder, dropped], folder)
    last = final_group(layout, run, found) if run is not None else None
    if last:
        for name in ("final", "kept"):
            out[name] = ("sql", f"SELECT * FROM {quote(last)}", [last], last)
    return out


def connect(layout: RunLayout, run: dict | None = None, only: tuple[str, ...] | None = None) -> tuple[
        duckdb.DuckDBPyConnection, dict[str, str]]:
    """A DuckDB connection with the run's views (:func:`plan`); returns it and {view name: folder}
    of the views a user reads (not the group folders' own names). ``only`` limits the views (e.g.
    ``("stats", "rejected")`` for status)."""
    con = duckdb.connect()
    found = sources(layout)
    how = plan(layout, run, found)
    made: set[str] = set()

    def make(name: str) -> None:
        if name in made:
            return
        spec = how[name]
        if spec[0] == "files":  # the connection keeps the dataset alive
            con.register(name, dataset(layout, found[spec[1]]))
        elif spec[0] == "rows":
            con.register(name, dataset(layout, found[spec[1]]).filter(ds.field("stage").isin(spec[2])))
        else:
            for dep in spec[2]:
                make(dep)
            con.execute(f"CREATE VIEW {quote(name)} AS {spec[1]}")
        made.add(name)

    views = {}
    for name, spec in how.items():
        if GROUP_DIR.match(name) or spec[0] == "rows" or (only is not None and name not in only):
            continue
        make(name)
        views[name] = spec[1] if spec[0] == "files" else spec[3]
    return con, views


def columns(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {quote(view)}").fetchall()}
