"""One run of the default pipeline (pipelines/llama3.yaml, real Ray, 2 workers) over the junk corpus
of :mod:`curation.evaluation.junk_corpus`, shared by every test of this folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: pages per generated kind: enough for a rate per kind (one page is 3%), small enough for a run
#: of about two minutes on 2 cores
PER_KIND = 30


def pipeline_with_models(path: Path, models: Path):
    """The pipeline file as is, with ``models`` set on every stage that takes one and names none."""
    from curation.config import parse_pipeline
    from curation.operators import operator_class

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for stage in data["stages"]:
        if "models" in operator_class(stage["op"]).Params.model_fields and not stage.get("models"):
            stage["models"] = str(models)
    return parse_pipeline(data, str(path))


@pytest.fixture(scope="session")
def junk_corpus_dir(tmp_path_factory) -> Path:
    from curation.evaluation import junk_corpus

    out = tmp_path_factory.mktemp("junk_corpus")
    junk_corpus.build(out, per_kind=PER_KIND, seed=0)
    return out


@pytest.fixture(scope="session")
def pipeline_models(tmp_path_factory) -> Path:
    """$CURATION_MODELS or the checkout's models/ when complete; else the default models, trained
    once into a temporary folder (what a first `curate run` does, without touching the checkout)."""
    from curation.classifiers import models_dir as md

    have = md.default_models_dir()
    if all(md.present(have).values()):
        return have
    return md.ensure(tmp_path_factory.mktemp("models"), quiet=True)


@pytest.fixture(scope="session")
def junk_run(junk_corpus_dir, pipeline_models, ray_local, tmp_path_factory) -> dict:
    """The run and each corpus document's outcome (``junk_corpus.outcomes``) and per-kind figures."""
    from curation.evaluation import junk_corpus
    from curation.engine.runner import RunOptions, run_pipeline

    cfg = pipeline_with_models(ROOT / "pipelines" / "llama3.yaml", pipeline_models)
    out = str(tmp_path_factory.mktemp("junk_run") / "run")
    run_pipeline(cfg, [str(junk_corpus_dir / "web"), str(junk_corpus_dir / "text")], out,
                 RunOptions(workers=2, progress=False))
    fig = junk_corpus.figures(out, junk_corpus_dir)
    junk_corpus.print_figures(fig)  # shown with -s, and in the report of a failing test
    return {"out": out, "outcomes": junk_corpus.outcomes(out, junk_corpus_dir), "figures": fig}
