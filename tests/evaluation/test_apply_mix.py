"""``curate evaluate --mix-grid K --apply OUTPUT``: the mix search's recommendation applied through
``--input RUN@STAGE``: only mix + tokenize re-run, with the run's own parameters and the
recommended target, on a real Ray over a run made here by the pipeline (tiny models, few tokens)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_helpers import tiny_options

from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from curation.evaluation import mix_search as ms
from curation.evaluation.evaluate import run
from curation.run import manifest, record
from curation.run.layout import RunLayout

#: the achieved token share of a domain may miss the target by this much: the mix samples whole
#: documents (a few hundred here, about 1 kB each), so a share lands within a document or two
TOLERANCE = 0.05
#: the real texts the evaluate fixtures use (conftest.py: every 8th is in the eval files)
DOCS = Path(__file__).resolve().parents[1] / "train" / "data" / "fixture_docs.jsonl"


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, ray_local):
    """A run of language -> mix -> tokenize over the bundled fixture documents the eval files do not
    hold (every 8th is held out), their `domain` carried through as metadata; mix with non-default
    parameters, which the re-mix must keep."""
    d = tmp_path_factory.mktemp("applysrc")
    docs = [json.loads(x) for x in DOCS.read_text(encoding="utf-8").splitlines() if x.strip()]
    with open(d / "docs.jsonl", "w") as f:
        for i, doc in enumerate(docs):
            if i % 8:
                f.write(json.dumps({"id": doc["id"], "text": doc["text"], "domain": doc["domain"]}) + "\n")
    cfg = parse_pipeline({"name": "src", "input": {"reader": {"metadata_columns": ["domain"]}}, "stages": [
        {"op": "language"},
        {"op": "mix", "target": {"general": 0.5, "math": 0.3, "code": 0.2}, "max_epochs": 3, "anneal_fraction": 0.2,
         "seed": 7},
        {"op": "tokenize", "seed": 3}]})
    out = d / "run"
    run_pipeline(cfg, [str(d / "docs.jsonl")], str(out), RunOptions(workers=2, progress=False))
    return out


def test_apply_writes_the_remixed_run_through_run_at_stage(pipeline_run, eval_files, tmp_path, capsys):
    from curation.commands.evaluate import _print_table

    remixed = tmp_path / "remixed"
    o = tiny_options(tmp_path / "out", [("curated", str(pipeline_run))], eval_files, mix_grid=3, tokens=1024,
                     apply=str(remixed))
    res = run(o, progress=None)
    mx = res["mix_search"]
    target = mx["recommended"]["target"]
    applied = mx["applied"]
    assert applied["output"] == str(remixed) and applied["input"] == f"{pipeline_run}@language"
    # the candidates: the run's target, then the data's natural shares (within the epoch caps)
    nat = mx["natural_shares"]
    assert sum(nat.values()) == pytest.approx(1.0) and set(nat) == set(mx["domains"])
    assert mx["candidates"][1]["mix"] == pytest.approx(ms.cap(nat, mx["epoch_caps"]))
    # one seed cannot measure the seed noise: no eval set's fit is trusted
    assert mx["poor_fit"] == sorted(mx["fit"]) and all(n["noise"] is None for n in mx["seed_noise"].values())

    layout = RunLayout(str(remixed))
    rec = record.read(layout)
    assert rec["stages"] == ["read", "mix", "tokenize"]  # no stage before the mix re-run
    assert rec["lineage"][0]["run"] == str(pipeline_run) and rec["lineage"][0]["stage"] == "language"
    stages = {s["name"]: s["params"] for s in rec["config"]["stages"]}
    src = {s["name"]: s["params"] for s in record.read(RunLayout(str(pipeline_run)))["config"]["stages"]}
    assert stages["mix"]["target"] == {d: w for d, w in target.items() if w > 0}  # the recommended target ...
    assert {k: v for k, v in stages["mix"].items() if k != "target"} == \
        {k: v for k, v in src["mix"].items() if k != "target"}  # ... and the run's own other parameters
    assert stages["tokenize"] == src["tokenize"]

    achieved = manifest.read(layout)["achieved_mix"]
    assert achieved == applied["achieved_mix"]
    tot = sum(target.values())
    for dom, w in target.items():
        assert abs(achieved.get(dom, 0.0) - w / tot) <= TOLERANCE, (dom, achieved, target)
    assert (remixed / "tokens").is_dir()

    # a poor fit does not stop --apply, and is said again for it
    repeated = any(w.startswith("--apply: re-mixing to a recommendation with a poor fit") for w in res["warnings"])
    assert repeated == bool(mx["poor_fit"])

    assert f"re-mixed run <code>{remixed}</code>" in (tmp_path / "out" / "evaluate.html").read_text()
    _print_table(res)
    shown = capsys.readouterr().out
    assert f"re-mixed run: {remixed}" in shown
    nxt = next(x for x in shown.splitlines() if x.startswith("next: "))
    assert nxt.startswith(f"next: curate evaluate --arm curated={pipeline_run} --arm remixed={remixed} ")
    assert "--tokens 1024 --seeds 1 --flavour tiny --seq-len 64 --batch 4 " in nxt  # the search's own settings


def test_apply_is_refused_before_any_training(pipeline_run, eval_files, tmp_path):
    o = tiny_options(tmp_path / "out", [("curated", str(pipeline_run))], eval_files, apply=str(tmp_path / "r"))
    with pytest.raises(ValueError, match="--apply re-mixes a run with a mix search"):
        run(o, progress=None)
    o = tiny_options(tmp_path / "out", [("curated", str(pipeline_run))], eval_files, mix_grid=3,
                     apply=str(pipeline_run))
    with pytest.raises(ValueError, match="that is the run itself"):
        run(o, progress=None)
    o = tiny_options(tmp_path / "out", [("curated", str(pipeline_run))], eval_files, mix_grid=3, apply_tokens=5000)
    with pytest.raises(ValueError, match="--apply-tokens sizes the mix of --apply"):
        run(o, progress=None)
    assert not (tmp_path / "out" / "recommended_mix.yaml").exists()


def test_remix_can_be_sized_to_a_training_budget(pipeline_run, tmp_path):
    """--apply-tokens N: the re-mixed run's mix.total_tokens is N; without it, the run's own (unset);
    a sized mix holds at most about N tokens, the unsized one as many as its input."""
    from curation.evaluation import remix

    target = {"general": 0.4, "math": 0.3, "code": 0.3}
    own = remix.plan(pipeline_run, target).config.stages[0].params
    assert own.get("total_tokens") is None
    got = remix.apply(pipeline_run, target, str(tmp_path / "sized"), workers=2, total_tokens=3000)
    assert got["total_tokens"] == 3000
    params = {s["name"]: s["params"] for s in record.read(RunLayout(got["output"]))["config"]["stages"]}
    assert params["mix"]["total_tokens"] == 3000 and params["mix"]["target"] == target
    sized = manifest.read(RunLayout(got["output"]))
    full = manifest.read(RunLayout(str(pipeline_run)))
    assert sum(sized["mix"]["tokens"].values()) <= 3000 * 1.1 < sum(full["mix"]["tokens"].values())


def test_remix_follows_a_given_target_with_the_runs_own_parameters(pipeline_run, tmp_path):
    """remix.apply with a target far from the run's (general 0.5 / math 0.3 / code 0.2): the new run's
    achieved mix follows the new target, and the run's own mix does not (so the check can fail)."""
    from curation.evaluation import remix

    target = {"general": 0.15, "math": 0.25, "code": 0.6}
    got = remix.apply(pipeline_run, target, str(tmp_path / "r"), workers=2)
    assert got["input"] == f"{pipeline_run}@language" and got["target"] == target
    old = manifest.read(RunLayout(str(pipeline_run)))["achieved_mix"]
    assert max(abs(old[d] - w) for d, w in target.items()) > TOLERANCE
    assert max(abs(got["achieved_mix"][d] - w) for d, w in target.items()) <= TOLERANCE, got["achieved_mix"]
    params = {s["name"]: s["params"] for s in record.read(RunLayout(got["output"]))["config"]["stages"]}
    assert (params["mix"]["max_epochs"], params["mix"]["seed"], params["tokenize"]["seed"]) == (3.0, 7, 3)
