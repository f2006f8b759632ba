"""curate evaluate end to end on tiny models: determinism, equal tokens, domain matching,
contamination on planted overlap, and the CLI's --json shape."""

from __future__ import annotations

import json

import pytest
from eval_helpers import tiny_options

from curation.dedup.ngrams import ngrams, overlap
from curation.evaluation.evaluate import run


@pytest.fixture(scope="module")
def leaky_arm(tmp_path_factory, eval_files):
    """An arm whose training text contains the whole code eval set (planted contamination)."""
    p = tmp_path_factory.mktemp("leak") / "leaky.jsonl"
    texts = [json.loads(x)["text"] for x in eval_files["code"].read_text().splitlines()]
    p.write_text("".join(json.dumps({"text": "Intro line.\n" + t}) + "\n" for t in texts * 20))
    return p


@pytest.fixture(scope="module")
def first(tmp_path_factory, eval_run, eval_files, leaky_arm):
    out = tmp_path_factory.mktemp("ev1")
    arms = [("raw", f"{eval_run}@extract"), ("curated", str(eval_run)), ("leaky", str(leaky_arm)),
            ("raw_matched", f"{eval_run}@extract")]
    o = tiny_options(out, arms, eval_files, match_domains=["raw_matched:curated"])
    return o, run(o, progress=None)


def test_same_seed_same_numbers(first, tmp_path, eval_files):
    o, res = first
    o2 = tiny_options(tmp_path, o.arms[:2], eval_files, tokenizer=str(o.out) + "/tokenizer.json")
    res2 = run(o2, progress=None)
    for n in ("raw", "curated"):
        assert res2["arms"][n]["bpb"] == res["arms"][n]["bpb"]
        assert res2["arms"][n]["train_loss"] == res["arms"][n]["train_loss"]


def test_equal_tokens_and_shape(first):
    o, res = first
    assert res["train"]["tokens"] == 2048 and res["train"]["steps"] == 8
    for n, a in res["arms"].items():
        assert set(a["bpb"]) == {"prose", "code"}
        assert all(len(v) == o.seeds for v in a["bpb"].values())
        assert len(a["train_loss"][0]) == 8
    assert set(res["comparison"]["relative"]) == {"curated", "leaky", "raw_matched"}
    assert (tmp := res["options"]["out"]) and (json.loads(open(f"{tmp}/evaluate.json").read())["arms"].keys()
                                               == res["arms"].keys())
    assert "<svg" in open(f"{tmp}/evaluate.html").read()


def test_match_domains_draws_the_targets_shares(first):
    _, res = first
    cur = res["arms"]["curated"]["domain_shares"][0]
    mat = res["arms"]["raw_matched"]["domain_shares"][0]
    assert res["arms"]["raw_matched"]["matched_to"] == "curated"
    for d, share in cur.items():
        assert abs(mat.get(d, 0.0) - share) < 0.1, (cur, mat)


def test_planted_contamination_is_found(first):
    _, res = first
    assert res["arms"]["leaky"]["contamination"]["code"] > 0.9
    assert res["arms"]["raw"]["contamination"]["code"] < 0.01
    assert any("leaky" in w and "code" in w for w in res["warnings"])
    assert not any("arm raw:" in w and "13-grams" in w for w in res["warnings"])  # no contamination warning


def test_ngram_overlap_unit():
    text = " ".join(f"word{i}" for i in range(40))
    e = ngrams([text])
    assert len(e) == 40 - 13 + 1
    assert overlap(e, ngrams(["prefix " + text[: len(text) // 2]])) == pytest.approx(8 / 28)
    assert overlap(e, ngrams(["short text"])) == 0.0


def test_cli_json_shape(eval_run, eval_files, tmp_path, capsys):
    from curation.cli import main

    rc = main(["evaluate", "--arm", f"raw={eval_run}@extract", "--arm", f"curated={eval_run}",
               *[x for k, v in eval_files.items() for x in ("--eval", f"{k}={v}")],
               "--tokens", "1024", "--seeds", "2", "--flavour", "tiny", "--seq-len", "64", "--batch", "4",
               "--cpu-threads", "1", "--out", str(tmp_path), "--json", "--quiet"])
    assert rc == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    res = json.loads(last)
    for name in ("raw", "curated"):
        bpb = res["arms"][name]["bpb"]
        assert set(bpb) == {"prose", "code"}
        assert all(len(v) == 2 and all(isinstance(x, float) for x in v) for v in bpb.values())
    assert (tmp_path / "evaluate.html").is_file()


def test_cli_bad_arm_is_one_line_error(tmp_path, capsys):
    from curation.cli import main

    assert main(["evaluate", "--arm", "x=" + str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
