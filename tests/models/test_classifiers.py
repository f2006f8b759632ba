"""The classifiers train on the bundled data in seconds, deterministically, and score held-out text."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def test_fasttext_quality_held_out(models):
    _, cards = models
    h = cards["quality_fasttext"]["held_out"]
    print("fastText quality held-out:", h)
    assert h["n"] >= 150 and 0 < h["positives"] < h["n"]
    assert h["auc"] > 0.9
    assert h["precision"] > 0.8 and h["recall"] > 0.8


def test_domain_held_out_accuracy(models):
    _, cards = models
    by = cards["domain"]["held_out"]["accuracy_by_source"]
    print("domain held-out:", json.dumps(by))
    for key in ("math (gsm8k test)", "code (humaneval)", "multilingual (udhr)", "general (wikitext-2-raw test)"):
        assert by[key]["n"] >= 50, key
        assert by[key]["accuracy"] > 0.9, (key, by[key])


def test_fasttext_training_is_deterministic(models, tmp_path):
    from curation.classifiers import quality_fasttext

    root, _ = models
    quality_fasttext.train(tmp_path)
    a = (root / "quality_fasttext" / "model.bin").read_bytes()
    b = (tmp_path / "quality_fasttext" / "model.bin").read_bytes()
    assert a == b


def test_roberta_on_teacher_labels_from_a_checkpoint_path(models, tmp_path, sample_dir):
    """A user's teacher labels (any LLM's) + a local HF checkpoint by path; training is deterministic."""
    from curation.classifiers import roberta

    root, cards = models
    assert cards["quality_roberta"]["held_out"]["pearson_vs_teacher"] > 0.5
    rows = [json.loads(l) for l in gzip.open(sample_dir / "text" / "gsm8k_train_300.jsonl.gz", "rt")][:40]
    rows += [json.loads(l) for l in gzip.open(sample_dir / "text" / "ccnet_cc_en_head-0091.jsonl.gz", "rt")]
    texts = [r["text"] for r in rows]
    scores = [0.9 if "####" in t else 0.1 for t in texts]  # a stand-in teacher: "is this a worked solution"
    labels = tmp_path / "teacher.parquet"
    pq.write_table(pa.table({"text": texts, "score": scores}), labels)
    outs = []
    for i in range(2):
        cfg = roberta.RobertaConfigParams(init_checkpoint=str(root / "quality_roberta"), epochs=1, lr=1e-3)
        card = roberta.train(tmp_path / f"m{i}", cfg, teacher_labels=str(labels))
        assert card["init"] == str(root / "quality_roberta")
        outs.append((tmp_path / f"m{i}" / "quality_roberta" / "model.safetensors").read_bytes())
    assert outs[0] == outs[1]
    scorer = roberta.RobertaScorer(tmp_path / "m0" / "quality_roberta", max_tokens=64, batch_size=8)
    s = scorer.score(texts + [""])
    assert s.shape == (len(texts) + 1,) and np.isfinite(s).all()
    # the length-sorted batching returns scores in input order
    assert np.allclose(scorer.score(texts[::-1]), s[: len(texts)][::-1], atol=1e-5)


def test_domain_uses_language_column(models, sample_dir):
    from curation.classifiers.domain import DomainClassifier

    root, _ = models
    clf = DomainClassifier(root / "domain_fasttext")
    udhr = [json.loads(l) for l in gzip.open(sample_dir / "text" / "udhr_60.jsonl.gz", "rt")][:5]
    gsm = [json.loads(l)["text"] for l in gzip.open(sample_dir / "text" / "gsm8k_train_300.jsonl.gz", "rt")][:5]
    texts = [r["text"] for r in udhr] + gsm
    no_lang, _, _, _ = clf.predict(texts)
    assert no_lang[:5] == ["multilingual"] * 5 and no_lang[5:] == ["math"] * 5
    # a language column: English prose is never multilingual, math stays math in any language
    d, s, topics, _ = clf.predict(texts, ["en"] * 5 + ["de"] * 5)
    assert "multilingual" not in d[:5] and d[5:] == ["math"] * 5
    assert all(t == "" for t, x in zip(topics, d) if x != "general")
    # identified non-English prose is multilingual; unidentified (und) prose is undetermined, never
    # multilingual
    d, s, _, _ = clf.predict(texts[:5] * 2, ["fr"] * 5 + ["und"] * 5)
    assert d[:5] == ["multilingual"] * 5
    assert d[5:] == ["undetermined"] * 5


def test_cli_if_missing(models, capsys):
    from curation.cli import main

    root, _ = models
    assert main(["train-classifiers", "--models", str(root), "--if-missing"]) == 0
    assert "all models present" in capsys.readouterr().out
    assert main(["train-classifiers", "--models", str(root), "--only", "quality_fasttext",
                 "--positives", "/nonexistent.txt", "--negatives", "/nonexistent2.txt"]) == 2
