"""Models trained once per test session from the bundled data, with small configurations."""

from __future__ import annotations

import time

import pytest


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    from curation.classifiers import models_dir as md
    from curation.classifiers.roberta import RobertaConfigParams

    root = tmp_path_factory.mktemp("models")
    cards = {}
    for w in md.ALL:
        kw = {"roberta_config": RobertaConfigParams(epochs=1)} if w == "quality_roberta" else {}
        t0 = time.perf_counter()
        cards[w] = md.train_one(root, w, **kw)
        print(f"trained {w} in {time.perf_counter() - t0:.1f}s")
    return root, cards
