"""End to end: the CLI trains the debug model for 20 steps on a curated run and the loss falls;
the last checkpoints average into a model that the trainer loads.

The run folder is the bundled fixture, or the one named by CURATION_TRAIN_MANIFEST (e.g. the
output of ``make curate``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from curation.train.__main__ import main
from curation.train.average import main as average_checkpoints_main
from curation.train.checkpoint import list_checkpoints, read_model_weights
from curation.train.config import build_parser, load_config
from curation.train.trainer import Trainer


@pytest.fixture(scope="module")
def trained(manifest_path, tmp_path_factory):
    manifest = os.environ.get("CURATION_TRAIN_MANIFEST") or str(manifest_path)
    out = tmp_path_factory.mktemp("e2e")
    has_anneal = bool(json.loads(Path(manifest).read_text()).get("anneal", {}).get("files"))
    argv = ["--manifest", manifest, "--flavour", "debug", "--steps", "20", "--seq-len", "128", "--global-batch-size", "8"]
    argv += ["--out", str(out), "--checkpoint-every", "10"]
    if has_anneal:
        argv += ["--anneal-tokens", str(4 * 8 * 128)]  # the last 4 steps
    assert main(argv) == 0
    rec = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return manifest, out, rec, has_anneal


def test_debug_model_loss_falls(trained):
    _, out, rec, has_anneal = trained
    assert [r["step"] for r in rec] == list(range(1, 21))
    for r in rec:
        assert {"step", "loss", "lr", "tokens_per_s", "mfu", "phase"} <= r.keys()
        assert r["mfu"] is None  # CPU: no peak FLOP/s to compare with
        assert r["tokens_per_s"] > 0
    first = rec[0]["loss"]
    main_phase = [r["loss"] for r in rec if r["phase"] == "main"]
    assert min(main_phase[-4:]) < first - 0.5, [r["loss"] for r in rec]
    if has_anneal:
        assert [r["phase"] for r in rec] == ["main"] * 16 + ["anneal"] * 4
        assert [r["lr"] for r in rec[16:]] == pytest.approx([rec[16]["lr"] * k / 4 for k in (4, 3, 2, 1)])
    assert (out / "tokenizer.json").is_file() and (out / "config.json").is_file()
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-00000010", "step-00000020"]


def test_average_checkpoints_and_init_from(trained, tmp_path):
    manifest, out, _, _ = trained
    avg = tmp_path / "avg"
    assert average_checkpoints_main([str(out), "--last", "2", "--out", str(avg)]) == 0
    a = read_model_weights(out / "checkpoints" / "step-00000010")
    b = read_model_weights(out / "checkpoints" / "step-00000020")
    got = read_model_weights(avg)
    assert got.keys() == a.keys()
    for k in a:
        torch.testing.assert_close(got[k], (a[k] + b[k]) / 2)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the two checkpoints differ
    # a fresh run starts from the averaged weights
    cfg = load_config(
        ["--manifest", manifest, "--flavour", "debug", "--tokenizer", str(out / "tokenizer.json"), "--init-from", str(avg), "--out", str(tmp_path / "again")]
    )
    t = Trainer(cfg)
    sd = t.model.state_dict()
    for k in got:
        torch.testing.assert_close(sd[k], got[k])


def test_cli_help_documents_every_option():
    text = build_parser().format_help()
    from dataclasses import fields

    from curation.train.config import TrainConfig

    for f in fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--flavour", "70B"])


def test_yaml_config_and_flag_precedence(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("manifest: run/manifest.json\nseq-len: 512\nsteps: 7\ndoc_masking: false\n")
    cfg = load_config(["--config", str(y), "--steps", "9"])
    assert (cfg.manifest, cfg.seq_len, cfg.steps, cfg.doc_masking) == ("run/manifest.json", 512, 9, False)
    y.write_text("nonsense_option: 1\n")
    with pytest.raises(ValueError, match="unknown option"):
        load_config(["--config", str(y)])


def test_docs_describe_every_option():
    from dataclasses import fields

    from curation.train.config import TrainConfig

    doc = (Path(__file__).parents[2] / "docs" / "train.md").read_text()
    for f in fields(TrainConfig):
        assert f"`--{f.name.replace('_', '-')}`" in doc, f.name
