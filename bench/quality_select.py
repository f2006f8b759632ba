"""quality_select and the mix's quality preference on real documents: what they keep, what it costs.

Documents from ``../shared/data``, labelled with their domain by source (so that the figures are
about selection, not about the domain model): CCNet pages and WikiText-2 article sections (general), GSM8K
train problems with their worked answers (math), HumanEval problems with their solutions (code),
UDHR translations other than English (multilingual). Each is scored by the ``quality`` stage with
the pipeline's settings (``max_tokens`` 256), then, in this one process on one core:

* ``quality_select`` with the defaults of pipelines/llama3.yaml (collect on ``--shards`` shards,
  combine, apply): documents kept per domain, and its docs/s beside the ``quality`` stage's on the
  same documents (the cost of the new stage). Its throughput is also timed on the corpus repeated
  to ``--scale`` documents (new ids, scores jittered) so that the fixed costs do not dominate;
* ``mix`` with ``quality_preference`` 0 (the id-hash order of before), 3 (the default) and 6: per
  domain, the token-weighted mean quality of the mix (tokens x copies) beside the input's, the
  achieved token shares, and the mix's docs/s at each beta.

Usage (models: $CURATION_MODELS or models/, trained on first use)::

    CURATION_MODELS=/path/to/models .venv/bin/python bench/quality_select.py [--per-domain 400]
    CURATION_MODELS=/path/to/models .venv/bin/python bench/quality_select.py --run runs/sample

``--run`` takes the documents that entered ``quality_select`` in a run of pipelines/llama3.yaml
(scored there) instead of ``../shared/data``, and skips the quality stage's timing.

The last line is one JSON object of headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.domains import DOMAINS as ALL_DOMAINS, UNDETERMINED

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DOMAINS = tuple(d for d in ALL_DOMAINS if d != UNDETERMINED)  # the four labelled domains


def load(per_domain: int) -> pa.Table:
    rows: list[dict] = []

    def add(domain: str, texts) -> None:
        n = 0
        for t in texts:
            if n >= per_domain:
                break
            if t and t.strip():
                rows.append({"id": f"{domain}:{n}", "text": t, "domain": domain, "topic": ""})
                n += 1

    def general():
        for line in gzip.open(SHARED / "raw_web/ccnet_text/cc_en_head-0091.jsonl.gz", "rt", encoding="utf-8"):
            yield json.loads(line)["text"]
        wiki = gzip.open(SHARED / "wikipedia_reference/wikitext-2-raw/wiki.test.raw.gz", "rt", encoding="utf-8").read()
        for sec in re.split(r"\n(?= = (?:= )?[^=])", wiki.replace("\r", "")):  # articles and their sections
            if len(sec) >= 200:
                yield sec

    add("general", general())
    add("math", (f"{d['question']}\n\n{d['answer']}" for d in map(json.loads, gzip.open(
        SHARED / "domain_samples/math/gsm8k_train.jsonl.gz", "rt", encoding="utf-8"))))
    add("code", (d["prompt"] + d["canonical_solution"] for d in map(json.loads, gzip.open(
        SHARED / "domain_samples/code/HumanEval.jsonl.gz", "rt", encoding="utf-8"))))
    add("multilingual", (d["text"] for d in map(json.loads, gzip.open(
        SHARED / "domain_samples/multilingual/udhr/udhr.jsonl.gz", "rt", encoding="utf-8"))
        if d.get("iso6393") != "eng"))
    return pa.Table.from_pylist(rows)


def shards(t: pa.Table, k: int) -> list[pa.Table]:
    order = np.random.default_rng(0).permutation(t.num_rows)  # domains spread over the shards
    t = t.take(pa.array(order))
    step = -(-t.num_rows // k)
    return [t.slice(i, step) for i in range(0, t.num_rows, step)]


def run_global(op, parts: list[pa.Table]):
    from curation.operators import ShardContext, ready

    ready(op)
    decisions = op.combine(pa.concat_tables([op.collect(p, ShardContext(index=i)) for i, p in enumerate(parts)]))
    return decisions, [op.apply(p, decisions, ShardContext(index=i)) for i, p in enumerate(parts)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-domain", type=int, default=400, help="documents per domain at most")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--scale", type=int, default=200_000, help="documents for the quality_select throughput")
    ap.add_argument("--models", default=None)
    ap.add_argument("--run", default=None, help="a run folder of pipelines/llama3.yaml (e.g. make curate's): take "
                                               "the documents that entered its quality_select instead")
    a = ap.parse_args()

    import torch
    import yaml

    torch.set_num_threads(1)  # one core, as the per-core figures say

    from curation.operators import ShardContext, ready
    from curation.operators.mix import Mix
    from curation.operators.quality import Quality
    from curation.operators.quality_select import QualitySelect

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "pipelines/llama3.yaml").read_text())
    stage = {s["op"]: {k: v for k, v in s.items() if k != "op"} for s in cfg["stages"]}
    if a.run:  # the documents that entered quality_select in a run (scored there)
        group = sorted(Path(a.run).glob("*-quality"))[-1]
        table = pa.concat_tables([pq.read_table(f, columns=["id", "text", "domain", "topic", "quality"])
                                  for f in sorted(group.glob("*.parquet"))])
    else:
        table = load(a.per_domain)
    n_in = {d: int(sum(x == d for x in table.column("domain").to_pylist())) for d in DOMAINS}
    print("documents:", n_in)

    quality_dps = None
    if a.run:
        scored = table
    else:
        q = Quality({**stage["quality"], "models": a.models})
        q.setup()
        t0 = time.perf_counter()
        scored = pa.concat_tables([q.process(table.slice(i, 200)).kept for i in range(0, table.num_rows, 200)])
        t_quality = time.perf_counter() - t0
        quality_dps = table.num_rows / t_quality
        print(f"quality stage: {quality_dps:.1f} docs/s on one core ({t_quality:.1f}s)")

    sel = QualitySelect(stage["quality_select"])
    t0 = time.perf_counter()
    _, out = run_global(sel, shards(scored, a.shards))
    t_sel = time.perf_counter() - t0
    kept = pa.concat_tables([o.kept for o in out])
    rej = pa.concat_tables([o.rejected for o in out])
    n_kept = {d: int(sum(x == d for x in kept.column("domain").to_pylist())) for d in DOMAINS}
    cuts = sel.cuts(sel.combine(pa.concat_tables([sel.collect(p, ShardContext(index=i))
                                                  for i, p in enumerate(shards(scored, a.shards))])))
    print("quality_select (llama3.yaml defaults):")
    for d in DOMAINS:
        c = cuts.get(d, {})
        print(f"  {d:13s} {n_kept[d]:4d}/{n_in[d]:4d} kept = {n_kept[d] / max(n_in[d], 1):.3f} "
              f"(keep_fraction {stage['quality_select']['keep_fraction'].get(d)}, cut at {c.get('value')})")
    print("  e.g.", rej.column("detail")[0].as_py() if rej.num_rows else "-")

    # throughput on a larger corpus: the same rows repeated with new ids and jittered scores
    reps = max(1, a.scale // scored.num_rows)
    big = pa.concat_tables([scored.select(["id", "text", "domain", "quality"])] * reps)
    ids = [f"{i}" for i in range(big.num_rows)]
    jit = np.clip(big.column("quality").to_numpy() + np.random.default_rng(1).normal(0, 0.01, big.num_rows), 0, 1)
    big = big.set_column(0, "id", pa.array(ids)).set_column(3, "quality", pa.array(jit.astype(np.float32)))
    sel_big = QualitySelect({**stage["quality_select"], "min_documents": 1})
    t0 = time.perf_counter()
    run_global(sel_big, shards(big, a.shards * 4))
    t_big = time.perf_counter() - t0
    sel_dps = big.num_rows / t_big
    print(f"quality_select: {scored.num_rows / t_sel:.0f} docs/s on the corpus, {sel_dps:.0f} docs/s on "
          f"{big.num_rows} documents" + (f"; {quality_dps / sel_dps * 100:.2f}% of the quality stage's time per "
                                         "document" if quality_dps else ""))

    mix_fig = {}
    inp = kept
    w_in = inp.column("domain").to_pylist()
    for beta in (0.0, 3.0, 6.0):
        mix = Mix({**{k: v for k, v in stage["mix"].items() if k != "quality_preference"}, "models": a.models,
                   "quality_preference": beta})
        t0 = time.perf_counter()
        _, mo = run_global(mix, shards(inp, a.shards))
        t_mix = time.perf_counter() - t0
        mk = pa.concat_tables([o.kept for o in mo])
        dom = np.array(mk.column("domain").to_pylist())
        tok = mk.column("tokens").to_numpy().astype(float)
        w = tok * mk.column("mix_copies").to_numpy()
        qq = mk.column("quality").to_numpy().astype(float)
        fig = {"docs_per_s": round(inp.num_rows / t_mix, 1)}
        for d in DOMAINS:
            s = dom == d
            fig[d] = {"mix_quality": round(float(np.average(qq[s], weights=w[s])), 4) if w[s].sum() else None,
                      "share": round(float(w[s].sum() / w.sum()), 4)}
        mix_fig[beta] = fig
    # the input's token-weighted mean quality per domain (what the mix draws from)
    tokens_in = ready(Mix({"models": a.models})).count_tokens(inp.column("text").to_pylist()).astype(float)
    q_in = inp.column("quality").to_numpy().astype(float)
    dom_in = np.array(w_in)
    print("mix: token-weighted mean quality of the mix per domain (input = quality_select's output)")
    print(f"  {'domain':13s} {'input':>7s} " + " ".join(f"beta={b:<4g}" for b in mix_fig) + "   shares at each beta")
    for d in DOMAINS:
        s = dom_in == d
        qi = float(np.average(q_in[s], weights=tokens_in[s]))
        mix_fig.setdefault("input", {})[d] = round(qi, 4)
        print(f"  {d:13s} {qi:7.3f} " + " ".join(f"{mix_fig[b][d]['mix_quality']:8.3f}" for b in (0.0, 3.0, 6.0))
              + "   " + " ".join(f"{mix_fig[b][d]['share']:.3f}" for b in (0.0, 3.0, 6.0)))
    print("  mix docs/s at beta 0 / 3 / 6: " + " / ".join(f"{mix_fig[b]['docs_per_s']}" for b in (0.0, 3.0, 6.0))
          + " (token counting dominates; machine noise)")
    # the preference's own cost: the priority of 1M documents at beta 0 (a shift) and 3 (ES keys)
    from curation.operators.mix import priority_bin

    rng = np.random.default_rng(2)
    u = rng.integers(0, 2**63, 1_000_000, dtype=np.uint64) * np.uint64(2)
    qv = rng.random(1_000_000).astype(np.float32)
    prio_ns = {}
    for beta in (0.0, 3.0):
        t0 = time.perf_counter()
        for _ in range(5):
            priority_bin(u, qv, beta)
        prio_ns[beta] = (time.perf_counter() - t0) / 5 / 1e6 * 1e9
    print(f"  priority per document: {prio_ns[0.0]:.1f} ns at beta 0, {prio_ns[3.0]:.1f} ns at beta 3 "
          f"(the mix: {1e9 / mix_fig[0.0]['docs_per_s']:.0f} ns per document)")

    print(json.dumps({
        "documents": n_in, "kept": n_kept,
        "kept_fraction": {d: round(n_kept[d] / max(n_in[d], 1), 4) for d in DOMAINS},
        "quality_docs_per_s": round(quality_dps, 2) if quality_dps else None,
        "quality_select_docs_per_s": round(sel_dps, 1),
        "quality_select_cost_vs_quality": round(quality_dps / sel_dps, 5) if quality_dps else None,
        "mix_quality_input": mix_fig["input"],
        "mix_quality": {f"beta_{b:g}": {d: mix_fig[b][d]["mix_quality"] for d in DOMAINS} for b in (0.0, 3.0, 6.0)},
        "mix_share": {f"beta_{b:g}": {d: mix_fig[b][d]["share"] for d in DOMAINS} for b in (0.0, 3.0, 6.0)},
        "mix_docs_per_s": {f"beta_{b:g}": mix_fig[b]["docs_per_s"] for b in (0.0, 3.0, 6.0)},
        "priority_ns_per_doc": {f"beta_{b:g}": round(v, 2) for b, v in prio_ns.items()},
    }))


if __name__ == "__main__":
    main()
