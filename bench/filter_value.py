"""Filtering's own value on a crawl-like corpus: curated against raw at matched domain shares (issue 23).

The FineWeb / DCLM ablation at our scale. The corpus (``curation/evaluation/crawl_corpus.py``) is
real pages of ``sample/`` and ``../shared/data`` with the junk of ``curation/evaluation/junk_corpus.py``
at a Common Crawl-like rate (``--junk-share``, 60% of the pages by default) and near-duplicates
(``--near-dup-share`` mirrored pages, plus the Clough & Stevenson rewritten answers).
``pipelines/llama3.yaml`` runs on it on a local Ray of ``--workers`` CPUs; then ``curate evaluate``
trains the bundled model on

* ``raw``: the run's raw extraction (``RUN@extract``: every page with text, before any filter),
  drawn to the curated arm's domain token shares (``--match-domains raw:curated``; the raw pages
  are labelled by the pipeline's own ``language`` and ``domain`` operators);
* ``curated``: the run's mix,

at equal tokens, once per seed, and scores both on the bundled eval suite. "Beyond the seed
spread" is evaluate's own verdict (the difference of the means larger than 2 standard errors from
both arms' seed spread) and, stricter, the curated arm better on every seed.

Usage (the issue's measurement: debug flavour, 200k tokens, 2 seeds; about 4 trainings)::

    nice .venv/bin/python bench/filter_value.py --out /tmp/filter_value > filter_value.log 2>&1

A smoke run: ``--flavour tiny --tokens 20000 --seeds 2 --web-pages 40 --math-pages 40``. Prints the corpus, what
the pipeline removed per kind, the table (bits per byte per eval set and seed, curated vs raw,
verdict) and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def run_pipeline(corpus: Path, run: Path, workers: int) -> float:
    import ray

    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline as run_it

    shutil.rmtree(run, ignore_errors=True)
    ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
    t0 = time.perf_counter()
    try:
        run_it(load_pipeline(ROOT / "pipelines" / "llama3.yaml"), [str(corpus / "web"), str(corpus / "text")],
               str(run), RunOptions(workers=workers, progress=False))
    finally:
        ray.shutdown()
    return time.perf_counter() - t0


def removal(run: Path, corpus: Path) -> dict:
    """Per kind: documents, removed by a stage other than mix, kept before mix; near-duplicates removed."""
    from curation.evaluation import junk_corpus as jc

    fig = jc.figures(str(run), corpus)
    o = jc.outcomes(str(run), corpus)["docs"]
    kinds = {r["url"]: r for r in map(json.loads, (corpus / "kinds.jsonl").read_text().splitlines())}
    mirrors = [u for u, k in kinds.items() if k.get("near_dup_of")]
    # a mirror pair is resolved when at most one of the two is kept before the mix
    pairs = [(u, kinds[u]["near_dup_of"]) for u in mirrors if kinds[u]["near_dup_of"] in o]
    both = sum(o[a]["kept_before_mix"] and o[b]["kept_before_mix"] for a, b in pairs)
    real_kept = [d["kept_before_mix"] for d in o.values() if not d["junk"] and not kinds[d["url"]].get("near_dup_of")]
    return {"kinds": {k: {"n": f["n"], "removed": f["removed_rate"], "kept": f["kept_rate"],
                          "by_stage": f["by_stage"]} for k, f in fig["kinds"].items()},
            "junk_removed": fig["junk_removed_rate"], "real_originals_kept": round(sum(real_kept) / max(1, len(real_kept)), 4),
            "near_dup_pairs": len(pairs), "near_dup_pairs_both_kept": both}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(SHARED), help="../shared/data (its real web pages join sample/'s)")
    ap.add_argument("--junk-share", type=float, default=0.6, help="junk share of all pages (default 0.6)")
    ap.add_argument("--near-dup-share", type=float, default=0.1, help="mirrored pages, share of all (default 0.1)")
    ap.add_argument("--web-pages", type=int, default=120, help="trafilatura evaluation pages taken (default 120)")
    ap.add_argument("--code-pages", type=int, default=60, help="standard-library code pages (default 60)")
    ap.add_argument("--math-pages", type=int, default=150,
                    help="GSM8K worked-answer pages (default 150: the mix's 25%% math of 200k tokens within 4 epochs)")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=200_000)
    ap.add_argument("--flavour", default="debug")
    ap.add_argument("--cpu-threads", type=int, default=1)
    ap.add_argument("--out", default="out/filter_value")
    ap.add_argument("--reuse-run", action="store_true", help="keep OUT/corpus and OUT/run when present")
    a = ap.parse_args()
    if not Path(a.shared).is_dir():
        sys.exit(f"bench/filter_value.py needs ../shared/data ({a.shared})")

    from curation.evaluation import crawl_corpus
    from curation.evaluation.evaluate import Options, run as evaluate

    out = Path(a.out)
    corpus, run = out / "corpus", out / "run"
    t0 = time.perf_counter()
    if not (a.reuse_run and (run / "manifest.json").is_file()):
        shutil.rmtree(corpus, ignore_errors=True)
        info = crawl_corpus.build(corpus, a.shared, a.junk_share, a.near_dup_share, a.web_pages,
                                   a.code_pages, a.math_pages, a.seed)
        pipeline_s = run_pipeline(corpus, run, a.workers)
    else:
        info, pipeline_s = {"docs": sum(1 for _ in (corpus / "kinds.jsonl").open()), "reused": True}, 0.0
    print(f"corpus: {json.dumps(info)}")
    print(f"pipeline: pipelines/llama3.yaml on {a.workers} workers in {pipeline_s:.0f}s wall")
    rm = removal(run, corpus)
    print(f"{'kind':14} {'n':>5} {'removed':>8} {'kept':>6}  removed by stage")
    for k, f in rm["kinds"].items():
        print(f"{k:14} {f['n']:5d} {f['removed']:8.0%} {f['kept']:6.0%}  "
              + ", ".join(f"{s} {c}" for s, c in sorted(f["by_stage"].items(), key=lambda kv: -kv[1])))
    print(f"junk removed: {rm['junk_removed']:.1%}; real pages kept before mix: {rm['real_originals_kept']:.1%}; "
          f"near-duplicate pairs with both copies kept: {rm['near_dup_pairs_both_kept']} of {rm['near_dup_pairs']}")

    res = evaluate(Options(arms=[("raw", f"{run}@extract"), ("curated", str(run))], match_domains=["raw:curated"],
                           tokens=a.tokens, seeds=a.seeds, flavour=a.flavour, cpu_threads=a.cpu_threads,
                           out=str(out / "evaluate")), progress=sys.stderr)
    arms, evals, cmp_ = res["arms"], list(res["evals"]), res.get("comparison") or {}
    cols = [*evals, "mean"]
    print(f"\n{a.flavour}, {res['train']['tokens']} tokens, {a.seeds} seeds; bits per byte (lower is better); "
          f"raw drawn to curated's domain shares")
    print(f"{'arm':24} " + " ".join(f"{c:>14}" for c in cols))
    for n in ("raw", "curated"):
        per = [arms[n]["bpb"][e] for e in evals] + [arms[n]["mean_bpb_per_seed"]]
        print(f"{n + ' (per seed)':24} " + " ".join(f"{', '.join(f'{x:.3f}' for x in v):>14}" for v in per))
    rel = cmp_.get("relative", {}).get("curated", {})
    ver = cmp_.get("verdict", {}).get("curated", {})
    print(f"{'curated vs raw':24} " + " ".join(f"{rel.get(c, float('nan')):>+14.1%}" for c in cols))
    print(f"{'verdict':24} " + " ".join(f"{str(ver.get(c, '-'))[:14]:>14}" for c in cols))
    shares = {n: {k: round(v, 3) for k, v in (arms[n].get("domain_shares") or [{}])[0].items()} for n in arms}
    print("domain token shares (seed 0): " + "; ".join(f"{n} {json.dumps(s)}" for n, s in shares.items()))
    raw_s, cur_s = arms["raw"]["mean_bpb_per_seed"], arms["curated"]["mean_bpb_per_seed"]
    every_seed = all(c < r for c, r in zip(cur_s, raw_s))
    beyond = ver.get("mean") == "better" and every_seed
    print(f"curated beats raw beyond the seed spread: {'yes' if beyond else 'no'} (evaluate's verdict on the mean: "
          f"{ver.get('mean')}; better on every seed: {every_seed})")
    for w in res.get("warnings", []):
        print(f"warning: {w}")
    print(json.dumps({"corpus": info, "junk_removed": rm["junk_removed"], "real_kept": rm["real_originals_kept"],
                      "near_dup_pairs_both_kept": rm["near_dup_pairs_both_kept"], "near_dup_pairs": rm["near_dup_pairs"],
                      "flavour": a.flavour, "tokens": res["train"]["tokens"], "seeds": a.seeds,
                      "bpb_mean": {n: {e: round(arms[n]["bpb_mean"][e], 4) for e in evals} for n in arms},
                      "mean_bpb_per_seed": {n: [round(x, 4) for x in arms[n]["mean_bpb_per_seed"]] for n in arms},
                      "curated_vs_raw": {c: round(v, 4) for c, v in rel.items()}, "verdict": ver,
                      "beats_beyond_seed_spread": beyond, "pipeline_s": round(pipeline_s, 1),
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
