"""The reference language model (curation/classifiers/reference_lm.py): its reference text keeps the
eval suite held out, and a briefly trained model scores reference-like text above scrambled text."""

from __future__ import annotations

import random

import numpy as np

from curation.classifiers import reference_lm as rl
from curation.dedup import ngrams as ng
from curation.evaluation.suite import load


def test_reference_text_shares_no_13gram_with_the_eval_suite():
    rows = rl.reference_texts()
    everything = rl.reference_texts(exclude_eval=False)
    assert 0 < len(rows) < len(everything)  # HumanEval 100-129 (the code eval) is in the bundled data
    held = ng.ngrams([t for texts in load(None).values() for t in texts])
    assert ng.overlap(held, ng.ngrams([r["text"] for r in rows])) == 0.0
    assert {r["domain"] for r in rows} == {"general", "code", "math", "multilingual"}


def test_trained_model_prefers_reference_like_text(tmp_path):
    card = rl.train(tmp_path, rl.ReferenceLMConfig(steps=30, batch=8, seq_len=128))
    assert card["train"]["documents"] > 0 and set(card["held_out"]["mean_bpb_by_domain"]) >= {"general", "math"}
    lm = rl.ReferenceLM(tmp_path / rl.MODEL_DIR)
    held = [r["text"] for r in rl.reference_texts() if rl.is_test(r["group"])][:20]
    rnd = random.Random(0)
    scrambled = ["".join(rnd.sample(t, len(t))) for t in held]
    s_ref, s_scr = lm.score(held), lm.score(scrambled)
    assert np.isfinite(s_ref).all() and (s_ref > s_scr).mean() > 0.9
