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


#: quality_select in the mix tests: min_documents splits the sample's domains into cut ones (math,
#: code, multilingual: 60-300 documents) and an untouched one (general: under 50)
SELECT = {"keep_fraction": {"general": 0.8, "math": 0.7, "code": 0.9, "multilingual": 0.6}, "min_documents": 50}


def mix_pipeline(models_root, select: dict | None = SELECT, **mix):
    """extract -> domain -> quality -> quality_select -> mix, as in pipelines/llama3.yaml."""
    from curation.config import parse_pipeline

    m = str(models_root)
    stages = [
        {"op": "extract"},
        {"op": "domain", "models": m, "auto_train": False},
        {"op": "quality", "models": m, "max_tokens": 64, "auto_train": False},
    ]
    if select is not None:
        stages.append({"op": "quality_select", **select})
    stages.append({"op": "mix", "models": m, **mix})
    return parse_pipeline({"name": "mix-test", "input": {"shard_max_bytes": 200_000, "batch_docs": 100},
                           "stages": stages})


@pytest.fixture(scope="session")
def mix_runs(models, sample_dir, ray_local, tmp_path_factory):
    """The mix pipeline on the bundled sample with 1 and 2 workers: {workers: run folder}."""
    from pathlib import Path

    from curation.engine.runner import RunOptions, run_pipeline

    root, _ = models
    cfg = mix_pipeline(root, quality_preference=3.0)  # the tilt's mechanism (off by default: docs/models.md)
    inputs = [str(sample_dir / "text"), str(sample_dir / "html" / "scrapinghub")]
    return {w: Path(run_pipeline(cfg, inputs, str(tmp_path_factory.mktemp(f"mixrun{w}")),
                                 RunOptions(workers=w, progress=False)).root) for w in (1, 2)}
