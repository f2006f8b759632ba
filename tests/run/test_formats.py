"""One round trip per file format of the run folder, on a local disk, on S3 (moto on loopback) and on
an fsspec filesystem (``memory://``)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.io import fs as fsx
from curation.run import commit, lock, manifest, progress, record, views
from curation.run.layout import RunLayout


@pytest.fixture(params=["local", "s3", "fsspec"])
def layout(request, tmp_path):
    if request.param == "local":
        return RunLayout(tmp_path / "run")
    if request.param == "fsspec":  # a scheme pyarrow has no filesystem for: through fsspec
        return RunLayout(f"memory://formats/{tmp_path.name}")
    server = request.getfixturevalue("s3_server")
    return RunLayout(f"s3://{server['bucket']}/formats/{tmp_path.name}")


def test_layout_paths_stay_inside(layout):
    root = layout.root
    assert layout.kept("02-url_dedup", "part-00001") == f"{root}/02-url_dedup/part-00001.parquet"
    assert layout.rejected("extract", "part-00000") == f"{root}/rejected/extract/part-00000.parquet"
    assert layout.output("mix", "part-00003") == f"{root}/mix/part-00003.parquet"
    assert layout.output_rel("anneal", "part-00003") == "anneal/part-00003.parquet"
    for bad in ("../escaped.html", "a/../../x", "/etc/passwd"):
        with pytest.raises(ValueError, match="outside the output folder"):
            layout.report(bad)
    with pytest.raises(ValueError, match="outside"):
        layout.rejected("../../x", "part-00000")
    with pytest.raises(ValueError):
        layout.output("elsewhere", "part-00000")
    again = pickle.loads(pickle.dumps(layout))  # how a worker receives it
    assert again.root == layout.root and type(again.fs) is type(layout.fs)


def test_staged_parquet_commits_whole_files_and_readers_skip_temporaries(layout):
    final = layout.kept("01-extract", "part-00000")
    w = commit.StagedParquet(layout.fs, final)
    w.write(pa.table({"id": ["a", "b"]}))
    w.write(pa.table({"id": ["c"], "extra": [1]}))  # conformed to the first batch's schema
    assert not fsx.exists(layout.fs, final)
    assert commit.committed(layout.fs, layout.kept_dir("01-extract")) == []  # the temporary is not listed
    w.commit()
    assert pq.read_table(final, filesystem=layout.fs).column("id").to_pylist() == ["a", "b", "c"]
    aborted = commit.StagedParquet(layout.fs, layout.kept("01-extract", "part-00001"))
    aborted.write(pa.table({"id": ["x"]}))
    aborted.abort()
    left = commit.StagedParquet(layout.fs, layout.kept("01-extract", "part-00002"))
    left.write(pa.table({"id": ["y"]}))
    left.close()  # a worker that died here leaves its temporary
    assert [i.path for i in commit.committed(layout.fs, layout.kept_dir("01-extract"))] == [final]
    assert commit.committed_names(layout.fs, layout.kept_dir("01-extract")) == {"part-00000"}
    assert commit.remove_temporaries(layout.fs, layout.root) == 1
    assert len(fsx.files(layout.fs, layout.kept_dir("01-extract"))) == 1


def test_run_json_round_trip(layout):
    rec = {"config": {"name": "x"}, "inputs": ["s3://b/in"], "shards": ["part-00000"], "pipeline": "x"}
    assert record.write_or_check(layout, rec) is False
    assert record.read(layout) == rec
    assert record.write_or_check(layout, dict(rec, versions={"python": "3"})) is True  # same run: resume
    with pytest.raises(record.DifferentRunError, match="shards differs"):
        record.write_or_check(layout, dict(rec, shards=[]))
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        record.read(RunLayout.of(layout.uri + "/nothing-here"))


def test_progress_json_round_trip(layout):
    assert progress.read(layout) == {}
    progress.update(layout, "read+extract", 1, 3, 0, 10, 100.0, False, now=101.0)
    progress.update(layout, "url_dedup:collect", 3, 3, 0, 0, 102.0, True, now=103.0)
    progress.update(layout, "read+extract", 3, 3, 0, 30, 100.0, True, now=104.0)
    st = progress.read(layout)
    assert list(st["stages"]) == ["url_dedup:collect", "read+extract"]  # the last updated goes last
    assert st["stages"]["read+extract"] == {"done": 3, "total": 3, "resumed": 0, "docs": 30, "started": 100.0,
                                            "updated": 104.0, "finished": True}
    assert st["current"] == "read+extract" and st["updated"] == 104.0


def test_manifest_round_trip_and_added_section(layout):
    m = {"text_column": "text", "mix": {"files": ["mix/part-00000.parquet"], "documents": {"general": 1},
                                        "tokens": {"general": 5}}, "anneal": {"files": [], "documents": {}, "tokens": {}}}
    commit.write_table_atomic(layout.fs, pa.table({"text": ["hello"]}), layout.output("mix", "part-00000"))
    manifest.write(layout, m)
    got = manifest.read(layout)
    assert got["format"] == manifest.FORMAT and got["mix"] == m["mix"]
    manifest.update(layout, tokens={"mix": {"files": ["tokens/mix/part-00000.bin"]}})
    got = manifest.read(layout)
    assert got["tokens"]["mix"]["files"] == ["tokens/mix/part-00000.bin"] and got["mix"] == m["mix"]
    reader = manifest.Manifest(layout.uri)  # the trainer's reader: the run folder or its manifest.json
    assert reader.tokens("mix") == 5 and list(reader.iter_texts("mix")) == ["hello"]
    assert [str(f) for f in reader.files("mix")] == [layout.display(layout.output("mix", "part-00000"))]
    commit.write_bytes_atomic(layout.fs, layout.manifest(), json.dumps({"format": "curation.mix/99"}).encode())
    with pytest.raises(ValueError, match="unknown manifest format"):
        manifest.read(layout)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_lock_one_owner_and_stale_recovery(layout):
    first = lock.RunLock(layout).acquire()
    assert lock.state(layout) == "held"
    with pytest.raises(lock.LockedError, match="in use by another run"):
        lock.RunLock(layout).acquire()
    first.release()
    assert lock.state(layout) == "free"
    # a driver on this host that was killed: its pid is gone
    stale = dict(lock.RunLock(layout).owner, pid=_dead_pid())
    commit.write_json_atomic(layout.fs, layout.lock(), stale)
    assert lock.state(layout) == "stale"
    second = lock.RunLock(layout).acquire()
    assert second.recovered["pid"] == stale["pid"]
    second.release()
    # a driver on another machine: a lease, live while its heartbeat is recent
    other = {"host": "elsewhere", "pid": 1, "token": "t", "started": time.time(), "heartbeat": time.time()}
    commit.write_json_atomic(layout.fs, layout.lock(), other)
    assert lock.state(layout) == "held"
    commit.write_json_atomic(layout.fs, layout.lock(), dict(other, heartbeat=time.time() - lock.LEASE_S - 1))
    assert lock.state(layout) == "stale"


def test_views_union_columns_and_skip_temporaries(layout):
    stats = pa.table({"stage": ["read"], "shard": ["part-00000"], "docs_in": [3]})
    commit.write_table_atomic(layout.fs, stats, layout.stats("read", "part-00000"))
    commit.write_table_atomic(layout.fs, stats.append_column("seconds", pa.array([1.5])),
                              layout.stats("read", "part-00001"))
    commit.write_table_atomic(layout.fs, pa.table({"id": ["a"]}), layout.kept("01-my-stage", "part-00000"))
    with layout.fs.open_output_stream(layout.stats_root() + "/read/.tmp-dead-part-00002.parquet") as f:
        f.write(b"not parquet: a worker died writing this")
    con, found = views.connect(layout, {"groups": [{"name": "01-my-stage"}]})
    assert set(found) == {"stats", "my_stage", "final", "kept"}
    assert con.execute("SELECT count(*), sum(docs_in), count(seconds) FROM stats").fetchone() == (2, 6, 1)
    assert con.execute('SELECT id FROM "final"').fetchall() == [("a",)]
