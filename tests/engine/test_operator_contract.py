"""The operator contract as the engine keeps it: ``setup()`` runs before every hook (on the workers
and on the driver before ``finalize``), per-shard state lives in the ``ShardContext`` the engine
hands to ``collect``/``apply``/``shard_outputs`` (fresh per shard, ``batch_offset`` advanced per
batch), and a global stage's per-shard outputs are the ones it declares."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import parse_pipeline
from curation.engine.runner import RunError, RunOptions, run_pipeline

MODULE = '''
import pyarrow as pa
from curation.operators import GlobalOperator


class Counted(GlobalOperator):
    """Counts each shard's documents batch by batch; every hook checks that setup() ran first."""

    name = "counted"
    writes_outputs = True
    outputs = ("mix",)  # a run output folder the run layout knows (curation.run.layout)
    shard_outputs_reads_kept = False
    wrong_output = False

    def setup(self):
        self.is_set_up = True

    def _check(self, hook):
        if not getattr(self, "is_set_up", False):
            raise RuntimeError(f"{hook} before setup()")

    def collect(self, table, ctx):
        self._check("collect")
        return pa.table({"key": pa.array([ctx.index], pa.uint64())})

    def combine(self, rows):
        self._check("combine")
        return pa.table({"n": pa.array([rows.num_rows], pa.int64())})

    def apply(self, table, decisions, ctx):
        self._check("apply")
        state = ctx.state.setdefault("batches", [])
        if ctx.batch_offset != sum(state):  # the engine advances the offset after every batch
            raise RuntimeError(f"batch_offset {ctx.batch_offset} after batches {state}")
        state.append(table.num_rows)
        return self.keep_all(table)

    def shard_outputs(self, kept, ctx):
        self._check("shard_outputs")
        name = "anneal" if self.wrong_output else "mix"
        rows = pa.table({"shard": [ctx.index], "docs": [sum(ctx.state["batches"])],
                         "batches": [len(ctx.state["batches"])]})
        return {name: rows}, {"docs": sum(ctx.state["batches"])}

    def finalize(self, summaries, decisions, run_uri):
        self._check("finalize")  # on the driver: the engine set this operator up there too
        return {"counted": {"shards": len(summaries), "docs": sum(s["docs"] for s in summaries)}}


class WrongOutput(Counted):
    name = "wrong_output"
    wrong_output = True
'''


@pytest.fixture()
def user_dir(tmp_path) -> Path:
    """A user module and a JSONL input of 30 documents cut into 3 shards."""
    d = tmp_path / "user"
    (d / "in").mkdir(parents=True)
    name = f"contract_ops_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    (d / f"{name}.py").write_text(MODULE)
    for f in range(3):
        with gzip.open(d / "in" / f"docs-{f}.jsonl.gz", "wt") as fh:
            fh.writelines(json.dumps({"id": f"d{f}-{i}", "url": f"https://example.org/{f}/{i}",
                                      "text": f"Document {i} of file {f} says something plain."}) + "\n"
                          for i in range(10))
    (d / "module").write_text(name)
    return d


def _pipeline(user_dir: Path, cls: str) -> dict:
    mod = (user_dir / "module").read_text()
    return {"name": "contract", "input": {"batch_docs": 4, "shard_max_bytes": 1},
            "stages": [{"op": f"{mod}:{cls}"}]}


def test_hooks_run_after_setup_with_a_fresh_context_per_shard(user_dir, ray_local, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(user_dir))
    out = tmp_path / "run"
    run_pipeline(parse_pipeline(_pipeline(user_dir, "Counted")), [str(user_dir / "in")], str(out),
                 RunOptions(workers=2, progress=False))
    rows = sorted((r for p in sorted((out / "mix").glob("*.parquet")) for r in pq.read_table(p).to_pylist()),
                  key=lambda r: r["shard"])
    # each shard counts only its own 10 documents, in 3 batches of at most 4: nothing leaks between
    # the shards a worker runs with the same operator object
    assert rows == [{"shard": i, "docs": 10, "batches": 3} for i in range(3)]
    assert json.loads((out / "manifest.json").read_text())["counted"] == {"shards": 3, "docs": 30}


def test_an_undeclared_output_is_refused_naming_the_stage(user_dir, ray_local, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(user_dir))
    with pytest.raises(RunError, match="wrong_output.shard_outputs returned 'anneal', not one of its declared"):
        run_pipeline(parse_pipeline(_pipeline(user_dir, "WrongOutput")), [str(user_dir / "in")],
                     str(tmp_path / "run"), RunOptions(workers=1, progress=False))
