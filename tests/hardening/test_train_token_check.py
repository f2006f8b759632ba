"""Issue 20: the trainer checks its token shards at start-up - index lengths shifted between rows,
offsets moved, a token file cut to an odd size, a cut anneal file, a token id outside the
vocabulary - and stops with one line naming the file and the row (no step trained)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.train.validate import DataError, check_token_phases
from tests.train.conftest import _docs, build_run


@pytest.fixture(scope="module")
def token_run(tmp_path_factory) -> Path:
    """The trainer tests' fixture run, tokenized (mix and anneal), with a small BPE."""
    from curation.engine.tokenize_local import tokenize_tables, with_token_counts
    from curation.train.data import Manifest
    from curation.tokenizer import load_tokenizer, train_bpe

    run = tmp_path_factory.mktemp("token_run")
    build_run(run)
    tok_path = run / "tokenizer.json"
    train_bpe(Manifest(run / "manifest.json").iter_texts("mix"), 512, tok_path)
    docs = _docs()
    anneal = {d["id"] for d in docs if d["domain"] == "math"}
    t = pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs],
                  "domain": [d["domain"] for d in docs], "mix_copies": pa.array([1] * len(docs), pa.int32()),
                  "anneal": [d["id"] in anneal for d in docs]})
    t = with_token_counts(t, load_tokenizer(tok_path))
    tokenize_tables(run, [t.slice(0, t.num_rows // 2), t.slice(t.num_rows // 2)], str(tok_path))
    return run


@pytest.fixture
def run(token_run, tmp_path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(token_run, out)
    return out


def _section(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())["tokens"]


def _check(run: Path, phases=("mix", "anneal")) -> None:
    check_token_phases(str(run), _section(run), phases)


def _index_part(run: Path, phase: str = "mix") -> Path:
    return run / _section(run)[phase]["index"][0]["path"]


def _rewrite_index(path: Path, fn) -> None:
    t = pq.read_table(path)
    pq.write_table(fn(t), path)


def test_a_good_run_passes(run):
    _check(run)


def test_lengths_shifted_between_rows_are_caught(run):
    def shift(t):
        length = t.column("length").to_numpy().copy()
        length[0] += 3
        length[1] -= 3  # the part's sum is kept
        return t.set_column(t.column_names.index("length"), "length", pa.array(length, pa.int32()))
    _rewrite_index(_index_part(run), shift)
    with pytest.raises(DataError, match=r"index\.parquet/part-.*: row [01] \(id .*\) does not (end with EOS|start with BOS)"):
        _check(run)


def test_offsets_moved_by_5_are_caught(run):
    def move(t):
        off = t.column("offset").to_numpy() + 5
        return t.set_column(t.column_names.index("offset"), "offset", pa.array(off, pa.int64()))
    _rewrite_index(_index_part(run), move)
    with pytest.raises(DataError, match=r"row \d+ \(id .*\)"):
        _check(run)


def test_a_token_file_of_odd_size_names_the_file(run):
    f = run / _section(run)["mix"]["files"][0]["path"]
    f.write_bytes(f.read_bytes()[:-1])
    with pytest.raises(DataError, match=r"tokens/mix/shard-00000\.bin: \d+ bytes is not a whole number of uint16"):
        _check(run)


def test_a_cut_anneal_file_is_found_at_start(run):
    f = run / _section(run)["anneal"]["files"][0]["path"]
    f.write_bytes(f.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"tokens/anneal/.*: \d+ tokens, the manifest says \d+"):
        _check(run)


def test_a_token_id_outside_the_vocabulary_is_caught(run):
    f = run / _section(run)["mix"]["files"][0]["path"]
    tokens = np.fromfile(f, dtype="<u2")
    tokens[7] = 0xFFFF
    tokens.tofile(f)
    with pytest.raises(DataError, match=r"shard-00000\.bin: token 7 is id 65535, outside the vocabulary of 512"):
        _check(run)


def test_the_trainer_stops_with_one_line_and_trains_nothing(run, tmp_path):
    _rewrite_index(_index_part(run), lambda t: t.set_column(
        t.column_names.index("offset"), "offset", pa.array(t.column("offset").to_numpy() + 5, pa.int64())))
    out = tmp_path / "train"
    r = subprocess.run([sys.executable, "-m", "curation.train", "--manifest", str(run / "manifest.json"),
                        "--flavour", "tiny", "--seq-len", "32", "--steps", "2", "--global-batch-size", "2",
                        "--out", str(out), "--device", "cpu"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if "error" in x]
    assert line.startswith("curation.train: error: ") and "index.parquet/part-" in line and "row " in line
    assert not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text().strip()
