"""curate evaluate --select: halves of a pool per domain by a score (halves.py), on the real
fixture documents, and the select comparison end to end on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from eval_helpers import tiny_options

from curation.evaluation import halves
from curation.evaluation.evaluate import run

DOCS = Path(__file__).resolve().parents[1] / "train" / "data" / "fixture_docs.jsonl"


def _pool() -> pa.Table:
    """The fixture documents with a real score: the share of alphabetic characters (higher: more prose)."""
    rows = [json.loads(x) for x in DOCS.read_text(encoding="utf-8").splitlines() if x.strip()]
    alpha = [sum(c.isalpha() for c in r["text"]) / max(len(r["text"]), 1) for r in rows]
    return pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
                     "domain": [r["domain"] for r in rows], "alpha": alpha})


def _bytes(t: pa.Table) -> np.ndarray:
    return np.asarray(pc.binary_length(t.column("text")))


def test_halves_split_every_domain_in_half_by_bytes_best_first():
    t = _pool()
    m = halves.split(t, "alpha")
    top, bottom = m["top:alpha"], m["bottom:alpha"]
    assert not (top & bottom).any() and (top | bottom).all()
    dom = np.asarray(t.column("domain").to_pylist())
    s = t.column("alpha").to_numpy()
    nb = _bytes(t)
    for d in np.unique(dom):
        rows = dom == d
        half = nb[rows].sum() / 2
        assert abs(nb[rows & top].sum() - half) <= nb[rows].max(), d  # half the bytes, to one document
        assert s[rows & top].min() >= s[rows & bottom].max(), d  # every top document scores at least as high


def test_random_half_is_seeded_and_halves_bytes():
    t = _pool()
    a, b, c = (halves.split(t, None, seed)[halves.RANDOM] for seed in (0, 0, 1))
    assert (a == b).all() and (a != c).any()
    dom = np.asarray(t.column("domain").to_pylist())
    nb = _bytes(t)
    for d in np.unique(dom):
        rows = dom == d
        assert abs(nb[rows & a].sum() - nb[rows].sum() / 2) <= nb[rows].max(), d


def test_missing_scores_go_to_the_bottom_and_unknown_column_is_an_error():
    t = _pool()
    s = t.column("alpha").to_numpy().copy()
    gen = np.flatnonzero(np.asarray(t.column("domain").to_pylist()) == "general")
    s[gen[:3]] = np.nan
    t2 = t.set_column(3, "alpha", pa.array(s))
    m = halves.split(t2, "alpha")
    assert not m["top:alpha"][gen[:3]].any()
    with pytest.raises(ValueError, match="no column 'nope'"):
        halves.split(t, "nope")


def test_verdict_rule():
    arms = {"random": {"mean_bpb": 4.0}, "top:a": {"mean_bpb": 3.9}, "bottom:a": {"mean_bpb": 4.1},
            "top:b": {"mean_bpb": 3.99}, "bottom:b": {"mean_bpb": 4.1},
            "top:c": {"mean_bpb": 3.8}, "bottom:c": {"mean_bpb": 3.7}}
    v = halves.verdict(arms, ["a", "b", "c"])
    assert v["a"]["passes"] and v["a"]["top_vs_random"] == pytest.approx(-0.025)
    assert not v["b"]["passes"] and v["b"]["bottom_worst"]  # top only 0.25% better
    assert not v["c"]["passes"] and not v["c"]["bottom_worst"]  # bottom trained the best


@pytest.fixture(scope="module")
def selected(tmp_path_factory, eval_files):
    root = tmp_path_factory.mktemp("select")
    pq.write_table(_pool(), root / "pool.parquet")
    o = tiny_options(root / "out", [("pool", str(root / "pool.parquet"))], eval_files, select=["alpha"])
    return o, run(o, progress=None)


def test_select_trains_three_halves_at_matched_shares(selected):
    o, res = selected
    assert list(res["arms"]) == ["random", "top:alpha", "bottom:alpha"]
    for n in ("top:alpha", "bottom:alpha"):
        assert res["arms"][n]["matched_to"] == "random"
        for d, share in res["arms"]["random"]["domain_shares"][0].items():
            assert abs(res["arms"][n]["domain_shares"][0].get(d, 0.0) - share) < 0.05
    h = res["select"]["halves"]
    for d, rec in h["random"].items():  # each half holds about half of every domain's bytes
        assert abs(h["top:alpha"][d]["bytes"] - rec["bytes"]) <= 0.5 * rec["bytes"]
        assert h["top:alpha"][d]["mean_alpha"] >= h["bottom:alpha"][d]["mean_alpha"]
    v = res["select"]["verdict"]["alpha"]
    a = res["arms"]
    assert v["top_vs_random"] == pytest.approx(a["top:alpha"]["mean_bpb"] / a["random"]["mean_bpb"] - 1)
    assert v["passes"] == (v["top_vs_random"] <= -0.01 and v["bottom_worst"])


def test_cli_select_missing_column_is_one_line_error(tmp_path, capsys):
    from curation.cli import main

    pq.write_table(_pool(), tmp_path / "pool.parquet")
    assert main(["evaluate", "--arm", f"pool={tmp_path / 'pool.parquet'}", "--select", "nope",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no column 'nope'" in err and len(err.splitlines()) == 1
