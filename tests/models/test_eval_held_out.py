"""No scorer trains on the held-out eval suite (issue 24): the bundled classifier data holds WikiText-2
test sections, news bodies, HumanEval 100-129 and UDHR versions of the default eval suite, and every
bundled training set (quality fastText in both recipes, the RoBERTa scorer's texts, domain) leaves
them out."""

from __future__ import annotations

from curation.classifiers import quality_fasttext as qf
from curation.classifiers.common import bundled, read_jsonl, without_eval
from curation.dedup import ngrams as cont
from curation.evaluation.suite import load


def _eval_grams():
    return cont.ngrams([t for texts in load(None).values() for t in texts])


def _overlap(rows) -> float:
    return cont.overlap(_eval_grams(), cont.ngrams([r["text"] for r in rows]))


def test_bundled_data_holds_the_eval_suite_and_without_eval_removes_it():
    quality = read_jsonl(bundled("quality.jsonl.gz"))
    domain = read_jsonl(bundled("domain.jsonl.gz"))
    assert _overlap(quality) > 0.1 and _overlap(domain) > 0.1  # the contamination this fixes
    for rows in (quality, domain):
        kept = without_eval(rows)
        assert 0.9 * len(rows) < len(kept) < len(rows)
        assert _overlap(kept) == 0.0


def test_fasttext_recipes_train_on_no_eval_text():
    for recipe in ("wikipedia", "reference"):
        rows = qf.load_examples(recipe=recipe)
        assert {r["label"] for r in rows} == {"hq", "lq"}
        assert _overlap(rows) == 0.0, recipe
    ref = qf.load_examples(recipe="reference")
    assert sum(r["label"] == "hq" for r in ref) > sum(r["label"] == "hq" for r in qf.load_examples())


def test_unknown_recipe_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="unknown recipe"):
        qf.load_examples(recipe="nope")
