"""quality_select (per-domain percentile cut) and the mix's quality preference and undetermined domain.

The engine runs are ``mix_runs`` (conftest.py: domain -> quality -> quality_select -> mix on the
bundled sample, 1 and 2 workers, real Ray). The direct tests call the operators' phases on real
sample text, for what the domain stage of this branch cannot label (``undetermined``).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.operators.base import ready
from curation.operators.context import ShardContext
from tests.models.conftest import SELECT


def _table(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in sorted(folder.glob("*.parquet"))])


def _by_domain(t: pa.Table) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in t.column("domain").to_pylist():
        out[d] = out.get(d, 0) + 1
    return out


# -- quality_select through the engine ------------------------------------------------------------
def test_cut_keeps_the_stated_fraction_of_each_domain(mix_runs):
    run = mix_runs[2]
    into = _table(next(run.glob("*-quality")))
    kept = _table(next(run.glob("*-quality_select")))
    rej = _table(run / "rejected" / "quality_select")
    n_in, n_kept = _by_domain(into), _by_domain(kept)
    print("quality_select in:", n_in, "kept:", n_kept)
    cut = [d for d, n in n_in.items() if n >= SELECT["min_documents"]]
    assert len(cut) >= 2
    for d in cut:
        frac = SELECT["keep_fraction"][d]
        # the cut is exact up to the tie-break inside the cut bin (seeded id hash)
        assert abs(n_kept[d] - frac * n_in[d]) <= max(2, 0.02 * n_in[d]), (d, n_kept[d], n_in[d])
        q_kept = [q for q, dd in zip(kept.column("quality").to_pylist(), kept.column("domain").to_pylist()) if dd == d]
        q_rej = [q for q, dd in zip(rej.column("quality").to_pylist(), rej.column("domain").to_pylist()) if dd == d]
        assert max(q_rej) <= min(q_kept) + 1e-3, d  # the worst are cut (to the bin's resolution)
    assert set(rej.column("reason").to_pylist()) == {"low_quality"}
    pattern = re.compile(r"quality \d\.\d{3} (< \d\.\d{3}|in the cut bin at \d\.\d{3}) \(p(\d+) of (\w+)\)")
    for detail, d in zip(rej.column("detail").to_pylist(), rej.column("domain").to_pylist()):
        m = pattern.match(detail)
        assert m and m.group(3) == d and int(m.group(2)) == round(100 * (1 - SELECT["keep_fraction"][d])), detail


def test_domains_below_min_documents_are_not_cut(mix_runs):
    run = mix_runs[2]
    n_in = _by_domain(_table(next(run.glob("*-quality"))))
    n_kept = _by_domain(_table(next(run.glob("*-quality_select"))))
    small = [d for d, n in n_in.items() if n < SELECT["min_documents"]]
    assert small, n_in  # the sample's general text
    for d in small:
        assert n_kept[d] == n_in[d], d


def test_one_and_two_workers_write_identical_bytes(mix_runs):
    a, b = mix_runs[1], mix_runs[2]
    for sub in (next(a.glob("*-quality_select")).name, "rejected/quality_select", next(a.glob("*-mix")).name,
                "rejected/mix", "mix", "anneal"):
        fa = {p.name: p.read_bytes() for p in sorted((a / sub).glob("*.parquet"))}
        fb = {p.name: p.read_bytes() for p in sorted((b / sub).glob("*.parquet"))}
        assert fa and fa == fb, sub


def test_mix_samples_the_better_documents_of_each_domain(mix_runs):
    """Within each (domain, topic) group with a fractional rate k + f, the documents that got k + 1
    copies are better than those with k: pooled per domain, the mean of their quality minus their
    group's mean is above the others'. Checked where both sides have at least 10 documents (on the
    sample: math; a handful of documents is a coin toss for any weighted sampling)."""
    run = mix_runs[2]
    kept = _table(next(run.glob("*-mix")))
    rows = list(zip(kept.column("domain").to_pylist(), kept.column("topic").to_pylist(),
                    kept.column("quality").to_pylist(), kept.column("mix_copies").to_pylist()))
    rej = run / "rejected" / "mix"
    if rej.exists():
        r = _table(rej)
        rows += [(d, t, q, 0) for d, t, q in zip(r.column("domain").to_pylist(), r.column("topic").to_pylist(),
                                                   r.column("quality").to_pylist())]
    groups: dict[tuple[str, str], dict[int, list[float]]] = {}
    for d, t, q, c in rows:
        groups.setdefault((d, t or ""), {}).setdefault(c, []).append(q)
    pooled: dict[str, dict[bool, list[float]]] = {}
    for (d, _), by in sorted(groups.items()):
        if len(by) != 2:
            continue  # a whole rate: every document of the group has the same copies
        lo, hi = sorted(by)
        mean = float(np.mean(by[lo] + by[hi]))
        for extra in (False, True):
            pooled.setdefault(d, {False: [], True: []})[extra] += [q - mean for q in by[hi if extra else lo]]
    tested = []
    for d, side in sorted(pooled.items()):
        print(d, {k: (len(v), round(float(np.mean(v)), 4)) for k, v in side.items()})
        if min(len(side[False]), len(side[True])) >= 10:
            assert np.mean(side[True]) > np.mean(side[False]), d
            tested.append(d)
    assert tested


# -- the mix, operator phases on real sample text ---------------------------------------------------
def _sample_table(sample_dir: Path, undetermined: str | None = None) -> pa.Table:
    """The sample's text with domains by source, and a seeded quality; the ``undetermined`` source's
    documents labelled undetermined (the lead's domain stage labels text of unidentified language)."""
    src = {"gsm8k_train_300.jsonl.gz": "math", "code_100.jsonl.gz": "code",
           "udhr_60.jsonl.gz": "multilingual", "ccnet_cc_en_head-0091.jsonl.gz": "general"}
    rows = []
    for name, dom in src.items():
        for i, line in enumerate(gzip.open(sample_dir / "text" / name, "rt")):
            rows.append({"id": f"{name}:{i}", "text": json.loads(line)["text"],
                         "domain": "undetermined" if name == undetermined else dom, "topic": ""})
    t = pa.Table.from_pylist(rows)
    q = np.random.default_rng(0).random(t.num_rows).astype(np.float32)
    return t.append_column("quality", pa.array(q))


def _run_mix(mix, table: pa.Table):
    """collect per shard (two halves), combine, apply per shard, as the engine does; ``mix`` set up here."""
    ready(mix)
    halves = [table.slice(0, 200), table.slice(200)]
    decisions = mix.combine(pa.concat_tables([mix.collect(h, ShardContext(index=i)) for i, h in enumerate(halves)]))
    return decisions, [mix.apply(h, decisions, ShardContext(index=i)) for i, h in enumerate(halves)]


def test_no_preference_is_the_id_hash_order_of_before(models, sample_dir):
    """quality_preference 0: every document's copies are the pre-preference rule's, k + (top 12 bits
    of the seeded id hash < the group's threshold bin), whatever the quality."""
    from curation.operators.mix import Mix, id_hash, priority_bin

    root, _ = models
    t = _sample_table(sample_dir)
    u = id_hash(t.column("id").to_pylist(), 0)
    assert np.array_equal(priority_bin(u, t.column("quality").to_numpy(), 0.0), (u >> np.uint64(52)).astype(np.int32))
    mix = Mix({"models": str(root), "quality_preference": 0.0})
    decisions, out = _run_mix(mix, t)
    plan = mix.plan(decisions)
    flipped = t.set_column(t.schema.get_field_index("quality"), "quality",
                           pa.array(1 - t.column("quality").to_numpy(), pa.float32()))
    _, out_flipped = _run_mix(Mix({"models": str(root), "quality_preference": 0.0}), flipped)
    def copies(results):  # id -> copies (0: rejected, or in the annealing set only)
        k = pa.concat_tables([o.kept for o in results])
        return {i: c for i, c in zip(k.column("id").to_pylist(), k.column("mix_copies").to_pylist()) if c}

    assert copies(out) == copies(out_flipped)  # quality plays no part in the sampling (only in annealing)
    kept = pa.concat_tables([o.kept for o in out])
    ids = kept.column("id").to_pylist()
    hb = (id_hash(ids, 0) >> np.uint64(52)).astype(np.int64)
    for i, (d, c) in enumerate(zip(kept.column("domain").to_pylist(), kept.column("mix_copies").to_pylist())):
        g = plan["groups"][f"{d}/"]
        assert c == g["copies"] + (1 if hb[i] < g["bin_below"] else 0), ids[i]


def test_preference_raises_the_mean_quality_and_keeps_the_shares(models, sample_dir):
    from curation.operators.mix import Mix

    root, _ = models
    t = _sample_table(sample_dir)
    res = {}
    for beta in (0.0, 3.0):
        _, out = _run_mix(Mix({"models": str(root), "quality_preference": beta}), t)
        kept = pa.concat_tables([o.kept for o in out])
        w = np.asarray(kept.column("tokens").to_numpy() * kept.column("mix_copies").to_numpy(), float)
        dom = np.array(kept.column("domain").to_pylist())
        q = kept.column("quality").to_numpy()
        res[beta] = {d: (float(np.average(q[dom == d], weights=w[dom == d])), float(w[dom == d].sum() / w.sum()))
                     for d in ("math", "code", "multilingual")}
    print(res)
    for d in ("math", "code", "multilingual"):  # the domains with a fractional rate on this sample
        # multilingual's fraction is one or two of its 60 documents: they may be the same at both betas
        assert res[3.0][d][0] > res[0.0][d][0] or (d == "multilingual" and res[3.0][d][0] == res[0.0][d][0]), d
        assert abs(res[3.0][d][1] - res[0.0][d][1]) <= 0.02, d


def test_undetermined_is_rejected_without_a_share_and_sampled_with_one(models, sample_dir):
    from curation.operators.mix import Mix

    root, _ = models
    t = _sample_table(sample_dir, undetermined="udhr_60.jsonl.gz")
    n_und = sum(d == "undetermined" for d in t.column("domain").to_pylist())
    mix = Mix({"models": str(root)})
    decisions, out = _run_mix(mix, t)
    rej = pa.concat_tables([o.rejected for o in out])
    kept = pa.concat_tables([o.kept for o in out])
    und = [r for r, d in zip(rej.column("reason").to_pylist(), rej.column("domain").to_pylist()) if d == "undetermined"]
    assert und == ["undetermined_language"] * n_und
    assert "undetermined" not in kept.column("domain").to_pylist()  # not in the mix nor the annealing set
    assert set(rej.column("reason").to_pylist()) <= {"undetermined_language", "not_sampled"}
    plan = mix.plan(decisions)
    assert any("undetermined" in n and "undetermined_language" in n for n in plan["notes"])
    summaries = [{**mix.shard_outputs(o.kept, ShardContext(index=i))[1], "outputs": {"mix": f"mix/{i}.parquet", "anneal": f"anneal/{i}.parquet"}}
                 for i, o in enumerate(out)]
    manifest = mix.finalize(summaries, decisions, "run")
    assert "undetermined" not in manifest["target_mix"] and "undetermined" not in manifest["achieved_mix"]
    assert manifest["available"]["documents"]["undetermined"] == n_und

    target = {"general": 0.50, "math": 0.25, "code": 0.17, "undetermined": 0.08}  # the sample's UDHR as undetermined
    mix = Mix({"models": str(root), "target": target})
    decisions, out = _run_mix(mix, t)
    kept = pa.concat_tables([o.kept for o in out])
    rej = pa.concat_tables([o.rejected for o in out])
    assert "undetermined_language" not in rej.column("reason").to_pylist()
    summaries = [{**mix.shard_outputs(o.kept, ShardContext(index=i))[1], "outputs": {"mix": f"mix/{i}.parquet", "anneal": f"anneal/{i}.parquet"}}
                 for i, o in enumerate(out)]
    manifest = mix.finalize(summaries, decisions, "run")
    print(manifest["achieved_mix"])
    assert manifest["target_mix"]["undetermined"] == pytest.approx(0.08)
    assert abs(manifest["achieved_mix"]["undetermined"] - 0.08) <= 0.02


def test_match_domains_draws_undetermined_like_any_domain(models, sample_dir, tmp_path):
    """``curate evaluate --match-domains`` with a share of ``undetermined``: the draw fills it from
    the arm's own undetermined documents (curation.evaluation.draw knows no fixed domain list)."""
    from curation.evaluation.draw import ArmDocs, draw
    from curation.evaluation.sources import resolve
    from curation.tokenizer import load_tokenizer

    root, _ = models
    t = _sample_table(sample_dir, undetermined="udhr_60.jsonl.gz")
    path = tmp_path / "arm.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": x, "domain": d}) + "\n" for i, x, d in zip(
        t.column("id").to_pylist(), t.column("text").to_pylist(), t.column("domain").to_pylist())))
    shares = {"general": 0.4, "math": 0.3, "undetermined": 0.3}
    d = draw(ArmDocs(resolve(str(path))), load_tokenizer(root / "tokenizer.json"), seed=0, n_seqs=16, seq_len=64,
             shares=shares)
    got = d.shares()
    print(got)
    assert set(got) == set(shares)
    for k, v in shares.items():
        assert abs(got[k] - v) < 0.05, (k, got)
