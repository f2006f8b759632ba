"""The annealing test on a tiny trainer checkpoint, and the mix search (planted best mix)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from eval_helpers import tiny_options

from curation.evaluation import mix_search as ms
from curation.evaluation.evaluate import run


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, eval_run):
    """Two steps of the real trainer (python -m curation.train) on the fixture run: a tiny checkpoint."""
    from curation.train import load_config
    from curation.train import run as train_run
    from curation.train.checkpoint import latest_checkpoint

    out = tmp_path_factory.mktemp("ckpt")
    cfg = load_config([], manifest=str(eval_run / "manifest.json"), flavour="tiny", seq_len=64, global_batch_size=4,
                      steps=2, warmup_steps=1, tokenizer_vocab_size=512, out=str(out), device="cpu", cpu_threads=1)
    train_run(cfg)
    return latest_checkpoint(out / "checkpoints")


def test_anneal_mode_on_a_tiny_checkpoint(tiny_checkpoint, eval_run, eval_files, tmp_path):
    arms = [("base", str(eval_run)), ("cand", f"{eval_run}@extract")]
    o = tiny_options(tmp_path, arms, eval_files, anneal_from=str(tiny_checkpoint), tokens=1024, batch=4)
    res = run(o, progress=None)
    an = res["anneal"]
    assert an["base"] == "base" and set(an["candidates"]) == {"cand"}
    assert res["train"]["seq_len"] == 64 and res["train"]["decay"] == "linear to 0"
    assert res["train"]["lr"] == pytest.approx(1e-3 * 0.1)  # the checkpoint's lr x min_lr_ratio
    for e in ("prose", "code"):
        d = an["candidates"]["cand"]["delta"][e]
        assert math.isfinite(d)
        assert d == pytest.approx(res["arms"]["cand"]["bpb_mean"][e] - res["arms"]["base"]["bpb_mean"][e])
        # annealing from the checkpoint lowered the loss it started from
        assert res["arms"]["base"]["bpb_mean"][e] < an["before"][e]
    assert "Annealing test" in (tmp_path / "evaluate.html").read_text()


def _planted(domains, cands, star, noise=0.002, seed=0):
    rng = np.random.default_rng(seed)
    W = np.array([[m[d] for d in domains] for m in cands])
    losses = {}
    for e, scale in (("a", [1.0, 2.0, 0.5]), ("b", [2.0, 1.0, 1.0])):
        y = 1.0 + ((W - star) ** 2 * np.array(scale)).sum(1) + rng.normal(0, noise, len(W))
        losses[e] = [float(v) for v in y]
    return losses


@pytest.mark.parametrize("star", [(0.5, 0.3, 0.2), (0.2, 0.2, 0.6), (0.34, 0.33, 0.33)])
def test_mix_search_recovers_a_planted_best_mix(star):
    domains = ["code", "general", "math"]
    cands = ms.grid(domains, 16, seed=3)
    res = ms.search(domains, cands, _planted(domains, cands, np.array(star)))
    got = np.array([res["recommended"]["target"][d] for d in domains])
    assert np.abs(got - np.array(star)).max() < 0.06, (got, star)
    assert sum(res["recommended"]["target"].values()) == pytest.approx(1.0, abs=1e-9)
    assert all(f["loo_r2"] > 0.8 for f in res["fit"].values())


def test_mix_search_end_to_end_writes_a_pipeline_target(eval_run, eval_files, tmp_path):
    from curation.operators.mix import MixParams

    cand = tmp_path / "cands.yaml"
    cand.write_text(yaml.safe_dump([{"general": 0.6, "math": 0.2, "code": 0.2}, {"general": 0.2, "math": 0.6, "code": 0.2},
                                    {"general": 0.2, "math": 0.2, "code": 0.6}, {"general": 0.34, "math": 0.33, "code": 0.33}]))
    o = tiny_options(tmp_path / "out", [("curated", str(eval_run))], eval_files, mix_candidates=str(cand), tokens=1024)
    res = run(o, progress=None)
    mx = res["mix_search"]
    assert len(mx["candidates"]) == 4 and set(mx["fit"]) == {"prose", "code"}
    snippet = yaml.safe_load((tmp_path / "out" / "recommended_mix.yaml").read_text())
    params = MixParams(target=snippet["target"])  # what pipelines/*.yaml accepts as mix.target
    assert set(params.target) == {"general", "math", "code"}
    assert sum(snippet["target"].values()) == pytest.approx(1.0, abs=1e-6)
    # a poor fit is said, in the result and in the file (1,024 tokens and 4 mixes: a poor fit here)
    text = (tmp_path / "out" / "recommended_mix.yaml").read_text()
    assert bool(mx["poor_fit"]) == ("# WARNING: mix search: poor fit" in text) == any("poor fit" in w for w in res["warnings"])
    assert set(mx["epoch_caps"]) == {"general", "math", "code"}
    # the recommendation was trained once before it was written, and compared with the best candidate
    v = mx["verified"]
    assert set(v["bpb_mean"]) == {"prose", "code"} and all(math.isfinite(x) for x in v["bpb_mean"].values())
    assert v["best_candidate"] in res["arms"]
    assert v["beats_best_candidate"] == (v["mean_bpb"] < v["best_candidate_mean_bpb"])
    assert v["beats_best_candidate"] or any("not below the best candidate" in w for w in res["warnings"])
    # what is written is the fitted mix when it trained better than every candidate, else the best candidate
    if v["beats_best_candidate"]:
        assert "source" not in mx["recommended"] and "fitted" not in mx
    else:
        best = v["best_candidate"]
        assert mx["recommended"]["source"] == best and mx["fitted"]["target"] != mx["recommended"]["target"]
        assert snippet["target"] == pytest.approx(ms.rounded(res["arms"][best]["mix"], sorted(snippet["target"])))


TARGET = {"general": 0.5, "math": 0.25, "code": 0.17, "multilingual": 0.08}


def test_grid_draws_around_the_target_as_well_as_flat():
    domains = sorted(TARGET)
    cands = ms.grid(domains, 21, seed=0, include=TARGET)
    t = np.array([TARGET[d] for d in domains])
    dist = [np.abs(np.array([c[d] for d in domains]) - t).sum() for c in cands]
    near, flat = dist[1::2], dist[2::2]
    assert dist[0] == pytest.approx(0.0)
    assert np.median(near) < 0.5 * np.median(flat), (near, flat)


def test_candidates_never_ask_for_more_epochs_than_the_data_allows():
    domains = sorted(TARGET)
    caps = {"code": 0.05, "general": 1.0, "math": 0.3, "multilingual": 1.0}
    for c in ms.grid(domains, 30, seed=1, include=TARGET, caps=caps):
        assert sum(c.values()) == pytest.approx(1.0)
        assert all(c[d] <= caps[d] + 1e-9 for d in domains), c
    capped = ms.cap({"code": 0.5, "general": 0.3, "math": 0.2}, {"code": 0.1})
    assert capped["code"] == pytest.approx(0.1)
    assert capped["general"] / capped["math"] == pytest.approx(1.5)  # the excess shared in proportion
    with pytest.raises(ValueError, match="too few tokens"):
        ms.cap({"code": 0.5, "math": 0.5}, {"code": 0.3, "math": 0.3})


def test_search_respects_the_caps_and_flags_a_poor_fit():
    domains = ["code", "general", "math"]
    cands = ms.grid(domains, 12, seed=3)
    good = ms.search(domains, cands, _planted(domains, cands, np.array((0.5, 0.3, 0.2))), caps={"code": 0.2})
    assert good["recommended"]["target"]["code"] <= 0.2 + 1e-3 and good["poor_fit"] == []
    rng = np.random.default_rng(0)
    noise = {"a": list(1 + rng.normal(0, 0.01, len(cands))), "b": list(1 + rng.normal(0, 0.01, len(cands)))}
    bad = ms.search(domains, cands, noise)
    assert bad["poor_fit"] == ["a", "b"], bad["fit"]


def test_grid_draws_around_the_natural_shares_too():
    domains = sorted(TARGET)
    natural = {"code": 0.05, "general": 0.25, "math": 0.05, "multilingual": 0.65}
    cands = ms.grid(domains, 31, seed=0, include=TARGET, natural=natural)
    vec = lambda m: np.array([m[d] for d in domains])  # noqa: E731
    t, n = vec(TARGET), vec(natural)
    assert np.abs(vec(cands[0]) - t).sum() == pytest.approx(0.0)
    assert np.abs(vec(cands[1]) - n).sum() == pytest.approx(0.0)
    near_t, near_n, flat = cands[2::3], cands[3::3], cands[4::3]
    d_t = [np.abs(vec(c) - t).sum() for c in near_t]
    d_n = [np.abs(vec(c) - n).sum() for c in near_n]
    assert np.median(d_t) < 0.5 * np.median([np.abs(vec(c) - t).sum() for c in flat])
    assert np.median(d_n) < 0.5 * np.median([np.abs(vec(c) - n).sum() for c in flat])
    assert np.median(d_n) < np.median([np.abs(vec(c) - n).sum() for c in near_t])


def test_epoch_caps_hold_the_training_the_remixed_run_and_unidentified_text():
    tokens = {"code": 10_000, "general": 200_000, "math": 40_000, "undetermined": 150_000}
    long = ms.epoch_caps(tokens, need=800_000, max_epochs=4)  # training on more tokens than the pool holds
    assert long["code"] == pytest.approx(10_000 * 4 / 800_000)  # the training reads code at most 4 times
    assert long["undetermined"] == pytest.approx(150_000 / 800_000)  # ... and unidentified text at most once
    caps = ms.epoch_caps(tokens, need=200_000, max_epochs=4)
    assert caps["math"] == pytest.approx(40_000 / 400_000 * 4)  # the pool-sized mix repeats math at most 4 times
    assert caps["general"] == pytest.approx(1.0)
    assert caps["undetermined"] == pytest.approx(150_000 / 400_000)  # never up-sampled: its natural share
    # the mix search's candidates never give undetermined text more than its natural share
    for c in ms.grid(sorted(tokens), 20, seed=2, natural={d: n / 400_000 for d, n in tokens.items()}, caps=caps):
        assert c["undetermined"] <= caps["undetermined"] + 1e-9 and sum(c.values()) == pytest.approx(1.0)


def test_a_fit_within_the_seed_noise_is_a_poor_fit():
    domains = ["code", "general", "math"]
    cands = ms.grid(domains, 12, seed=3)
    clean = _planted(domains, cands, np.array((0.5, 0.3, 0.2)))
    rng = np.random.default_rng(1)
    # two seeds whose spread is far below the candidates' differences: a good fit
    quiet = {e: [[v - 1e-4, v + 1e-4] for v in ys] for e, ys in clean.items()}
    good = ms.search(domains, cands, clean, per_seed=quiet)
    assert good["poor_fit"] == [] and all(n["signal_to_noise"] > 10 for n in good["seed_noise"].values())
    # seeds disagreeing more than the candidates differ: the fit is to seed noise, whatever its R^2
    loud = {e: [[v - 0.5 + rng.normal(0, 0.01), v + 0.5] for v in ys] for e, ys in clean.items()}
    bad = ms.search(domains, cands, clean, per_seed=loud)
    assert bad["poor_fit"] == ["a", "b"] and all(n["signal_to_noise"] < 1 for n in bad["seed_noise"].values())
    # one seed: no noise estimate, so no trust
    one = ms.search(domains, cands, clean, per_seed={e: [[v] for v in ys] for e, ys in clean.items()})
    assert one["poor_fit"] == ["a", "b"] and one["seed_noise"]["a"]["noise"] is None
