"""Does a quality score pick better training data? DCLM's test for any score column (issue 24).

The pool is the documents ``quality_select`` received in a run of pipelines/llama3.yaml
(``RUN@quality``, scored there: ``quality``, ``quality_fasttext``, ``quality_roberta``). Per domain
it is split into the top and bottom half of its bytes by each score and one seeded random half
(``curation/evaluation/halves.py``); the debug model trains on each at equal tokens and the random
half's domain token shares, once per seed, and is scored on the default eval suite
(``curate evaluate --select``, one random arm shared by every score). A score passes when the top
half beats the random half by at least 1% of mean bits per byte and the bottom half is the worst.

Usage (the issue's full test; about 3 trainings per score and seed)::

    .venv/bin/python bench/quality_value.py --run runs/sample --scores quality quality_fasttext \\
        quality_roberta --seeds 2 --tokens 200000 --flavour debug

Computed here rather than read from the run: ``quality_reflm`` (reference LM), ``quality_fasttext_ref``
(fastText, reference recipe) and ``quality_prior`` (the token-frequency prior of the ``token_prior``
stage, over the pool). The prior's full test::

    CURATION_MODELS=models .venv/bin/python bench/quality_value.py --run runs/sample --scores quality_prior \\
        --seeds 2 --tokens 200000 --flavour debug --cpu-threads 1 --out out/quality_value_prior

The score that passes (the default pipeline's ``quality``, the ``quality_rank`` stage), the prior
ranked within (domain, language, dominant script)::

    CURATION_MODELS=models .venv/bin/python bench/quality_value.py --run runs/sample --scores quality_prior_lang \\
        --seeds 2 --tokens 200000 --flavour debug --cpu-threads 1 --out out/qv_prior_lang

``quality_prior_reflm_lang`` (prior and reference-LM percentiles averaged) is computed too; not yet measured.

Prints the table (mean bpb per half, top and bottom vs random, verdict) and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def reference_lm_scores(table: pa.Table, models: str | None) -> pa.Array:
    """``quality_reflm``: minus bits per byte under the reference LM (curation/classifiers/reference_lm.py),
    trained into MODELS/reference_lm on first use."""
    from curation.classifiers import models_dir as md
    from curation.classifiers import reference_lm as rl

    root = md.resolve(models)
    if not (root / rl.MODEL_DIR / "model.pt").is_file():
        t0 = time.perf_counter()
        card = rl.train(root)
        print(f"trained the reference LM in {time.perf_counter() - t0:.0f}s: {json.dumps(card['held_out'])}",
              file=sys.stderr)
    return pa.array(rl.ReferenceLM(root / rl.MODEL_DIR).score(table.column("text").to_pylist()), pa.float64())


def fasttext_reference_scores(table: pa.Table, models: str | None) -> pa.Array:
    """``quality_fasttext_ref``: p(hq) of the fastText classifier trained with the ``reference``
    recipe (curation/classifiers/quality_fasttext.py), trained into MODELS/quality_fasttext_ref on first use."""
    from curation.classifiers import models_dir as md
    from curation.classifiers import quality_fasttext as qf

    root = md.resolve(models)
    if not (root / "quality_fasttext_ref" / qf.MODEL_FILE).is_file():
        card = qf.train(root / "ref", qf.QualityFastTextConfig(recipe="reference"))
        (root / "ref" / qf.MODEL_DIR).rename(root / "quality_fasttext_ref")
        (root / "ref").rmdir()
        print(f"trained quality_fasttext_ref: {json.dumps(card['held_out'])}", file=sys.stderr)
    return pa.array(qf.FastTextQuality(root / "quality_fasttext_ref").score(table.column("text").to_pylist()),
                    pa.float64())


def token_prior_scores(table: pa.Table, models: str | None) -> pa.Array:
    """``quality_prior``: each document's leave-one-out mean log word prior within its domain, the
    corpus being the pool itself (curation/text/token_prior.py; no model)."""
    from curation.text import token_prior

    return pa.array(token_prior.table_scores(
        table.column("text"), table.column("domain").to_pylist() if "domain" in table.column_names else [""] * len(table)), pa.float64())


def rank_groups(table: pa.Table) -> list[str]:
    """Each document's (domain, language, dominant script): the groups a score is ranked within."""
    from curation.text.scripts import dominant_scripts

    n = table.num_rows
    dom = table.column("domain").to_pylist() if "domain" in table.column_names else [""] * n
    lang = table.column("lang").to_pylist() if "lang" in table.column_names else [""] * n
    return [f"{d}\x00{g}\x00{s}" for d, g, s in zip(dom, lang, dominant_scripts(table.column("text").to_pylist()))]


def _within(scores: pa.Array, table: pa.Table) -> np.ndarray:
    from curation.ranks import percentile_within

    nbytes = np.asarray(pc.binary_length(table.column("text")), dtype=np.float64)
    return percentile_within(np.asarray(scores.to_numpy(zero_copy_only=False), dtype=np.float64),
                             rank_groups(table), nbytes)


def token_prior_lang_scores(table: pa.Table, models: str | None) -> pa.Array:
    """``quality_prior_lang``: the prior's byte-weighted percentile within the document's (domain,
    language, dominant script) (curation/ranks.py): a half cannot win by its languages or scripts."""
    return pa.array(_within(token_prior_scores(table, models), table), pa.float64())


def prior_reflm_lang_scores(table: pa.Table, models: str | None) -> pa.Array:
    """``quality_prior_reflm_lang``: the mean of the prior's and the reference LM's percentiles
    within (domain, language, dominant script)."""
    return pa.array((_within(token_prior_scores(table, models), table)
                     + _within(reference_lm_scores(table, models), table)) / 2, pa.float64())


#: scores this bench computes itself (not columns of the run)
COMPUTED = {"quality_reflm": reference_lm_scores, "quality_fasttext_ref": fasttext_reference_scores,
            "quality_prior": token_prior_scores, "quality_prior_lang": token_prior_lang_scores,
            "quality_prior_reflm_lang": prior_reflm_lang_scores}


def pool(run: str, scores: list[str], out: Path, models: str | None = None) -> Path:
    """RUN@quality with its text, domain and the score columns, as one Parquet file."""
    from curation.evaluation import sources
    from curation.evaluation.draw import ArmDocs

    d = ArmDocs(sources.resolve(f"{run}@quality"), scores=tuple(s for s in scores if s not in COMPUTED))
    if "lang" not in d.table.column_names and any(s.endswith("_lang") for s in scores):
        sys.exit(f"{run}@quality has no lang column to rank within")
    for s in scores:
        if s in COMPUTED:
            d.table = d.table.append_column(s, COMPUTED[s](d.table, models))
    missing = [s for s in scores if s not in d.table.column_names]
    if missing:
        sys.exit(f"{run}@quality has no column(s) {', '.join(missing)}")
    path = out / "pool.parquet"
    pq.write_table(d.table.select(["text", "domain", *scores]), path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="runs/sample", help="a run of pipelines/llama3.yaml (default: make curate's)")
    ap.add_argument("--scores", nargs="+", default=["quality"],
                    help="score columns of RUN@quality, and (computed here) quality_reflm: the reference LM's, "
                         "quality_fasttext_ref: fastText with the reference recipe, quality_prior: the token-frequency prior")
    ap.add_argument("--models", default=None, help="models folder for quality_reflm (default: $CURATION_MODELS or models/)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=200_000)
    ap.add_argument("--flavour", default="debug")
    ap.add_argument("--select-seed", type=int, default=0, help="seed of the random half")
    ap.add_argument("--cpu-threads", type=int, default=0)
    ap.add_argument("--out", default="out/quality_value")
    a = ap.parse_args()

    from curation.evaluation.evaluate import Options, run

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    p = pool(a.run, a.scores, out, a.models)
    res = run(Options(arms=[("pool", str(p))], select=a.scores, select_seed=a.select_seed, tokens=a.tokens,
                      seeds=a.seeds, flavour=a.flavour, cpu_threads=a.cpu_threads, out=str(out / "evaluate")),
              progress=sys.stderr)
    arms, evals = res["arms"], list(res["evals"])
    print(f"pool {a.run}@quality: {res['select']['documents']} documents; {a.flavour}, {res['train']['tokens']} "
          f"tokens, {a.seeds} seed(s); mean bits per byte over {', '.join(evals)}")
    print(f"{'score':18s} {'top':>7s} {'random':>7s} {'bottom':>7s} {'top/rand':>9s} {'bot/rand':>9s}  verdict")
    rnd = arms["random"]["mean_bpb"]
    fig = {}
    for s in a.scores:
        v = res["select"]["verdict"][s]
        t, b = arms[f"top:{s}"]["mean_bpb"], arms[f"bottom:{s}"]["mean_bpb"]
        print(f"{s:18s} {t:7.4f} {rnd:7.4f} {b:7.4f} {v['top_vs_random']:+9.2%} {v['bottom_vs_random']:+9.2%}  "
              + ("passes" if v["passes"] else "fails") + ("" if v["bottom_worst"] else " (bottom not the worst)"))
        fig[s] = {"top": round(t, 4), "random": round(rnd, 4), "bottom": round(b, 4),
                  "top_vs_random": round(v["top_vs_random"], 4), "bottom_vs_random": round(v["bottom_vs_random"], 4),
                  "passes": v["passes"],
                  "per_eval": {h: {e: round(arms[n]["bpb_mean"][e], 4) for e in evals}
                               for h, n in (("top", f"top:{s}"), ("bottom", f"bottom:{s}"))}}
    seeds_spread = {n: [round(x, 4) for x in arms[n]["mean_bpb_per_seed"]] for n in arms}
    print("mean bpb per seed: " + "; ".join(f"{n} {v}" for n, v in seeds_spread.items()))
    print(json.dumps({"run": a.run, "flavour": a.flavour, "tokens": res["train"]["tokens"], "seeds": a.seeds,
                      "random_per_eval": {e: round(arms["random"]["bpb_mean"][e], 4) for e in evals},
                      "scores": fig, "mean_bpb_per_seed": seeds_spread,
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
