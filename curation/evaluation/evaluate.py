"""``curate evaluate``: train the same small model on each arm's data and compare held-out bits per byte.

Modes (one per call):

* **compare** (default): every arm, for every seed, trains the trainer's model from the seed's
  initial weights on exactly ``tokens`` tokens of its own data (``draw.py``), then is scored on
  every eval set (``bpb.py``). ``--match-domains`` draws an arm to another arm's domain token
  shares, so filtering/deduplication and reweighting can be told apart.
* **anneal** (``--anneal-from CHECKPOINT``): Llama 3 Section 3.1.3. The checkpoint is annealed
  (learning rate linear to 0) on ``anneal_fraction`` of a candidate arm and the rest of the base
  arm, and on the base arm alone; the report is each eval set's change in bpb.
* **select** (``--select COLUMN``, repeatable): the one arm is a pool split per domain into the
  top and bottom half by each COLUMN and a seeded random half (``halves.py``); the halves are the
  arms (``random`` first, the others drawn to its domain shares), and ``result["select"]`` says
  whether each score passes: top beats random by 1% and bottom is the worst (issue 24).
* **mix search** (``--mix-grid K`` or ``--mix-candidates FILE``): small models on candidate mixes
  of one run's documents, a regression of bpb on the mix weights, a recommended ``mix.target``
  (``mix_search.py``); with ``--apply OUTPUT``, the run re-mixed to it from ``RUN@<stage before
  mix>`` (``remix.py``, the path ``curate run --input RUN@STAGE`` takes).

Every number goes to ``OUT/evaluate.json`` and a self-contained ``OUT/evaluate.html``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from curation.train import bpb as bpb_mod
from curation.dedup import ngrams as ng
from curation.evaluation import contamination as cont
from curation.evaluation import mix_search as ms
from curation.evaluation import halves, sources, suite
from curation.evaluation.draw import ArmDocs, Draw, draw
from curation.train.in_memory import new_model, train, train_config
from curation.run.layout import RunLayout
from curation.train.config import TrainConfig
from curation.train.schedule import Schedule

#: vocabulary of the BPE trained on the arms when no --tokenizer is given (the trainer's default)
TOKENIZER_VOCAB = TrainConfig.tokenizer_vocab_size
#: characters of each arm's text the shared BPE is trained on
TOKENIZER_CHARS_PER_ARM = 2_000_000


@dataclass
class Options:
    arms: list[tuple[str, str]] = field(default_factory=list)  # (name, SOURCE)
    evals: list[str] | None = None  # NAME=FILE; None: the default suite
    tokens: int = 200_000
    seeds: int = 2
    flavour: str = "debug"
    seq_len: int = 256
    batch: int = 8
    lr: float | None = None  # None: TrainConfig's (compare) / the checkpoint's end-of-cosine lr (anneal)
    warmup_steps: int | None = None  # None: TrainConfig's
    stride: int | None = None  # None: seq_len // 2
    tokenizer: str | None = None
    match_domains: list[str] = field(default_factory=list)  # "TARGET" or "ARM:TARGET"
    anneal_from: str | None = None
    anneal_base: str | None = None
    anneal_fraction: float = 0.3  # Llama 3 Section 3.1.3: 30% candidate / 70% default data mix
    mix_grid: int | None = None
    mix_candidates: str | None = None
    mix_run: str | None = None
    apply: str | None = None  # --apply OUTPUT: re-mix the run with the recommended target into OUTPUT (remix.py)
    apply_workers: int | None = None  # Ray workers of the re-mix (None: every CPU, as curate run)
    apply_tokens: int | None = None  # --apply-tokens N: the re-mixed run's mix.total_tokens (None: the run's own)
    device: str = "auto"
    cpu_threads: int = 0
    out: str = "evaluate-out"
    warn_share: float = cont.WARN_SHARE
    select: list[str] = field(default_factory=list)  # score columns: halves of the one arm (halves.py)
    select_seed: int = 0  # seed of the random half (and of the tie-break among equal scores)


def parse_arm(spec: str) -> tuple[str, str]:
    name, sep, src = spec.partition("=")
    if not sep or not name or not src:
        raise ValueError(f"--arm {spec!r}: expected NAME=SOURCE")
    return name, src


class _Log:
    def __init__(self, stream):
        self.stream = stream

    def __call__(self, msg: str) -> None:
        if self.stream is not None:
            print(f"[evaluate] {msg}", file=self.stream, flush=True)


def _tokenizer(o: Options, docs: dict[str, ArmDocs], log):
    from curation.tokenizer import load_tokenizer, train_bpe

    if o.tokenizer:
        return load_tokenizer(o.tokenizer), o.tokenizer
    path = Path(o.out) / "tokenizer.json"
    if path.is_file():
        return load_tokenizer(path), str(path)

    unique = {d.tokenizer_docs.source.spec: d.tokenizer_docs for d in docs.values()}  # one source counts once

    def texts():  # the same number of characters from every source, in its seed-0 order
        for d in unique.values():
            n = 0
            for i in d.order(0):
                if n >= TOKENIZER_CHARS_PER_ARM:
                    break
                t = d.texts[i][: TOKENIZER_CHARS_PER_ARM - n]
                n += len(t)
                yield t

    t0 = time.perf_counter()
    tok = train_bpe(texts(), TOKENIZER_VOCAB, path)
    log(f"trained a byte-level BPE ({TOKENIZER_VOCAB}) on every arm's text in {time.perf_counter() - t0:.1f}s -> {path}")
    return tok, str(path)


def _match_plan(o: Options, names: list[str]) -> dict[str, str]:
    """arm -> the arm whose domain shares it is drawn to."""
    plan: dict[str, str] = {}
    for spec in o.match_domains:
        arm, sep, target = spec.rpartition(":")
        targets = [arm] if sep else [n for n in names if n != target]
        if target not in names:
            raise ValueError(f"--match-domains {spec}: no arm named {target!r}")
        for a in targets:
            if a not in names:
                raise ValueError(f"--match-domains {spec}: no arm named {a!r}")
            plan[a] = target
    for a, t in plan.items():
        if t in plan:
            raise ValueError(f"--match-domains: {t!r} is itself matched to another arm")
    return plan


#: a difference of mean bpb counts as real when it exceeds this many standard errors of the
#: difference (from the seed spread of both arms): 2 is the usual ~95% two-sided bound
NOISE_SE = 2.0
#: an eval set with fewer texts or bytes than this is too small to judge by (ours: at ~1 bpb, 20 kB is
#: ~160k bits, and a handful of texts is one writer's style, not a domain)
MIN_EVAL_TEXTS, MIN_EVAL_BYTES = 10, 20_000


def _verdict(a: list[float], b: list[float]) -> tuple[str, float | None]:
    """``better`` / ``worse`` / ``within noise`` of seed values ``a`` against ``b`` (lower is better),
    and the noise bound (NOISE_SE standard errors of the difference); ``one seed`` without a spread."""
    if len(a) < 2 or len(b) < 2:
        return "one seed: no spread to judge by (use --seeds 3)", None
    se = float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b)))
    d = float(np.mean(a) - np.mean(b))
    bound = NOISE_SE * se
    if abs(d) <= bound:
        return "within noise", bound
    return ("better" if d < 0 else "worse"), bound


def _comparison(arms: dict, evals: list[str]) -> dict:
    """Relative change of mean bpb of every arm against the first (negative: better), and a verdict
    per eval set and for the mean (:func:`_verdict`)."""
    names = list(arms)
    if len(names) < 2:
        return {}
    base = arms[names[0]]
    out = {"baseline": names[0], "relative": {}, "verdict": {}}
    for n in names[1:]:
        a = arms[n]
        rel = {e: a["bpb_mean"][e] / base["bpb_mean"][e] - 1 for e in evals}
        rel["mean"] = a["mean_bpb"] / base["mean_bpb"] - 1
        out["relative"][n] = rel
        out["verdict"][n] = {e: _verdict(a["bpb"][e], base["bpb"][e])[0] for e in evals}
        out["verdict"][n]["mean"] = _verdict(a["mean_bpb_per_seed"], base["mean_bpb_per_seed"])[0]
    return out


def judge_warnings(result: dict) -> list[str]:
    """Warnings that the comparison cannot be trusted: a model that learned nothing (final training
    loss at or above ln(vocabulary), the loss of a uniform guess) or an eval set too small."""
    out = []
    vocab = (result.get("train") or {}).get("vocab_size")
    for n, a in (result.get("arms") or {}).items():
        finals = [float(x[-1]) for x in a.get("train_loss") or [] if len(x)]
        if vocab and finals and float(np.mean(finals)) >= math.log(vocab):
            out.append(f"arm {n}: final training loss {np.mean(finals):.2f} >= ln({vocab}) = {math.log(vocab):.2f}: "
                       "the model learned nothing; train longer (--tokens) before reading the comparison")
    for e, info in (result.get("evals") or {}).items():
        if info["texts"] < MIN_EVAL_TEXTS or info["bytes"] < MIN_EVAL_BYTES:
            out.append(f"eval set {e}: {info['texts']} texts, {info['bytes']:,} bytes: too small to judge by "
                       f"(want at least {MIN_EVAL_TEXTS} texts and {MIN_EVAL_BYTES:,} bytes)")
    return out


def run(o: Options, progress=sys.stderr) -> dict:
    log = _Log(progress)
    if not o.arms:
        raise ValueError("give at least one --arm NAME=SOURCE")
    names = [n for n, _ in o.arms]
    if len(set(names)) != len(names):
        raise ValueError("arm names must be distinct")
    if o.seeds < 1 or o.tokens < 1:
        raise ValueError("--seeds and --tokens must be positive")
    if o.apply_tokens is not None and not o.apply:
        raise ValueError("--apply-tokens sizes the mix of --apply OUTPUT: give --apply")
    if o.apply and not (o.mix_grid or o.mix_candidates):
        raise ValueError("--apply re-mixes a run with a mix search's recommendation: give --mix-grid K or --mix-candidates")
    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    evals = suite.load(o.evals)
    srcs = {n: sources.resolve(s) for n, s in o.arms}
    if o.select:
        docs, select_info = _select_arms(o, srcs)
        srcs = {n: d.source for n, d in docs.items()}
        if select_info["by_domain"]:  # each half to the random half's domain token shares
            o = replace(o, match_domains=[f"{n}:{halves.RANDOM}" for n in docs if n != halves.RANDOM])
    else:
        docs = {n: ArmDocs(s) for n, s in srcs.items()}
    result: dict = {
        "format": "curation.evaluate/1",
        "mode": "anneal" if o.anneal_from else ("mix_search" if (o.mix_grid or o.mix_candidates) else "compare"),
        "options": asdict(o),
        "evals": {e: {"texts": len(t), "bytes": sum(len(x.encode()) for x in t)} for e, t in evals.items()},
        "arms": {},
        "warnings": [],
    }
    for n, s in srcs.items():
        for note in s.notes:
            log(f"{n}: {note}")

    if o.anneal_from:
        from curation.evaluation.anneal import run_anneal

        result["anneal"] = run_anneal(o, docs, evals, result, log)
    else:
        tok, tok_src = _tokenizer(o, docs, log)
        result["tokenizer"] = tok_src
        cfg = train_config(o, o.flavour, o.seq_len)
        steps, sched = schedule(o, cfg)
        result["train"] = {"flavour": o.flavour, "seq_len": o.seq_len, "batch": o.batch, "steps": steps,
                           "tokens": steps * o.batch * o.seq_len, "lr": cfg.lr, "warmup_steps": sched.warmup_steps,
                           "decay": cfg.decay, "vocab_size": tok.vocab_size}
        if o.mix_grid or o.mix_candidates:
            result["mix_search"] = _mix_search(o, srcs, tok, cfg, sched, evals, result, log)
        else:
            _compare(o, docs, tok, cfg, sched, evals, result, log)
            if o.select:
                select_info["verdict"] = halves.verdict(result["arms"], o.select)
                result["select"] = select_info
    for wmsg in judge_warnings(result):
        result["warnings"].append(wmsg)
        log("WARNING " + wmsg)
    result["seconds"] = time.perf_counter() - t_start
    (out / "evaluate.json").write_text(json.dumps(result, indent=2, sort_keys=False, default=str))
    from curation.evaluation.html import write_html

    write_html(result, out / "evaluate.html")
    log(f"wrote {out / 'evaluate.json'} and {out / 'evaluate.html'} in {result['seconds']:.0f}s")
    return result


def _select_arms(o: Options, srcs: dict) -> tuple[dict[str, ArmDocs], dict]:
    """``--select``: the halves of the one arm's pool by each score column, as arms (halves.py)."""
    if len(srcs) != 1:
        raise ValueError("--select splits one pool: give exactly one --arm")
    if o.anneal_from or o.mix_grid or o.mix_candidates or o.match_domains:
        raise ValueError("--select is its own comparison: not with --anneal-from, --mix-grid, --mix-candidates "
                         "or --match-domains")
    if len(set(o.select)) != len(o.select):
        raise ValueError("--select: a column is given twice")
    (name, src), = srcs.items()
    pool = ArmDocs(src, scores=tuple(o.select))
    missing = [c for c in o.select if c not in pool.table.column_names]
    if missing:
        raise ValueError(f"--select: {src.spec} has no column {', '.join(map(repr, missing))}")
    masks = halves.split(pool.table, None, o.select_seed)
    for c in o.select:
        masks.update(halves.split(pool.table, c, o.select_seed))
    docs = {n: pool.subset(masks[n], f"{src.spec}#{n}") for n in halves.names(o.select)}
    info = {"pool": src.spec, "columns": list(o.select), "seed": o.select_seed, "documents": len(pool),
            "by_domain": "domain" in pool.table.column_names,
            "halves": {n: halves.describe(pool.table, masks[n], o.select) for n in docs}}
    return docs, info


def _train_and_score(label, d: Draw, tok, cfg, sched, seed, evals, o, log) -> tuple[dict, object]:
    model = new_model(cfg, tok.vocab_size, seed)
    r = train(model, d.windows, d.doc_ids, cfg, sched, label=label, progress=log.stream, seed=seed)
    scores = bpb_mod.score_all(model, tok, evals, cfg.seq_len, o.stride)
    return scores, r


def schedule(o: Options, cfg: TrainConfig) -> tuple[int, Schedule]:
    """The optimizer steps of ``o.tokens`` training tokens and the learning-rate schedule every arm
    trains with (warm-up capped at the steps)."""
    steps = max(1, math.ceil(o.tokens / (o.batch * o.seq_len)))
    return steps, Schedule(steps=steps, peak_lr=cfg.lr, warmup_steps=min(cfg.warmup_steps, steps), decay=cfg.decay,
                           min_lr_ratio=cfg.min_lr_ratio)


def _own_shares(d: ArmDocs) -> dict[str, float] | None:
    """The domain shares an arm is drawn to when not matched: its mix's (manifest ``achieved_mix``),
    or its byte shares when its rows carry a ``domain`` column; None (a plain seeded draw) otherwise.
    Drawing domain by domain keeps a small domain (a mix's few multilingual documents) at its share
    in every seed instead of leaving it to chance."""
    if d.source.shares:
        return d.source.shares
    if "domain" not in d.table.column_names:
        return None
    dom = d.domains()
    import pyarrow.compute as pc

    nbytes = np.asarray(pc.binary_length(d.table.column("text")), dtype=float)
    out = {k: float(nbytes[dom == k].sum() / nbytes.sum()) for k in sorted(set(dom.tolist())) if k}
    return out or None


def _compare(o: Options, docs, tok, cfg, sched, evals, result, log) -> None:
    names = list(docs)
    plan = _match_plan(o, names)
    order = [n for n in names if n not in plan] + [n for n in names if n in plan]  # targets first
    n_seqs = sched.steps * o.batch
    arms = {n: {"source": docs[n].source.describe(), "matched_to": plan.get(n), "bpb": {e: [] for e in evals},
                "train_loss": [], "tokens_per_s": [], "domain_shares": [], "epochs": [], "documents": []} for n in names}
    drawn_texts: dict[str, list[str]] = {n: [] for n in names}
    for seed in range(o.seeds):
        shares_of: dict[str, dict[str, float]] = {}
        for n in order:
            target = plan.get(n)
            own = _own_shares(docs[n])
            d = draw(docs[n], tok, seed, n_seqs, o.seq_len, shares=shares_of[target] if target else own)
            shares_of[n] = d.shares()
            if target:
                log(f"{n}: drawn to {target}'s domain shares " + ", ".join(f"{k} {v:.2f}" for k, v in shares_of[target].items()))
            scores, r = _train_and_score(f"{n} seed {seed}", d, tok, cfg, sched, seed, evals, o, log)
            a = arms[n]
            for e, v in scores.items():
                a["bpb"][e].append(v)
            a["train_loss"].append(r.losses)
            a["tokens_per_s"].append(r.tokens_per_s)
            a["domain_shares"].append(d.shares())
            a["epochs"].append(d.epochs)
            a["documents"].append(len(d.texts))
            drawn_texts[n].extend(d.texts)
            log(f"{n} seed {seed}: " + ", ".join(f"{e} {v:.4f}" for e, v in scores.items()) + " bpb")
    eval_grams = {e: ng.ngrams(t) for e, t in evals.items()}
    for n in names:
        bpb_mod.summarise_arm(arms[n], list(evals))
        grams = ng.ngrams(list(dict.fromkeys(drawn_texts[n])))
        arms[n]["contamination"] = {e: ng.overlap(g, grams) for e, g in eval_grams.items()}
        for e, share in arms[n]["contamination"].items():
            if share > o.warn_share:
                msg = f"arm {n}: {share:.1%} of eval set {e}'s 13-grams are in its training text"
                result["warnings"].append(msg)
                log("WARNING " + msg)
    result["arms"] = arms
    result["comparison"] = _comparison(arms, list(evals))


#: passes over a domain's tokens a candidate mix may ask for (pipelines/llama3.yaml's mix.max_epochs)
MIX_MAX_EPOCHS = 4.0
#: characters of each domain encoded to measure its bytes per token
CAP_SAMPLE_CHARS = 200_000


def _domain_tokens(pool: ArmDocs, doms: list[str], tok) -> dict[str, float]:
    """Per domain: the tokens of its documents in the pool (estimated from its bytes and the bytes
    per token of a sample of its text)."""
    from curation.evaluation.draw import _encode

    dom = pool.domains()
    out = {}
    for d in doms:
        rows = np.flatnonzero(dom == d)
        texts = [pool.texts[i] for i in rows]
        nbytes = sum(len(t.encode("utf-8")) for t in texts)
        sample, n = [], 0
        for t in texts:
            if n >= CAP_SAMPLE_CHARS:
                break
            sample.append(t)
            n += len(t)
        s_bytes = sum(len(t.encode("utf-8")) for t in sample)
        s_tokens = sum(len(ids) for ids in _encode(tok, sample)) or 1
        out[d] = nbytes * s_tokens / max(s_bytes, 1)
    return out


def _verify(o: Options, pool, out: dict, arms: dict, tok, cfg, sched, evals, n_seqs: int, log) -> dict:
    """Train the recommended mix once per seed, as the candidates were, before it is written: its
    measured bpb next to the prediction and to the best candidate's."""
    target = {k: v for k, v in out["recommended"]["target"].items() if v > 0}
    bpb = {e: [] for e in evals}
    for seed in range(o.seeds):
        d = draw(pool, tok, seed, n_seqs, o.seq_len, shares=target)
        scores, _ = _train_and_score(f"recommended seed {seed}", d, tok, cfg, sched, seed, evals, o, log)
        for e, v in scores.items():
            bpb[e].append(v)
    mean = {e: bpb_mod.mean_or_nan(v) for e, v in bpb.items()}
    best = min(arms, key=lambda n: arms[n]["mean_bpb"])
    res = {"bpb": bpb, "bpb_mean": mean, "mean_bpb": bpb_mod.mean_or_nan(list(mean.values())), "best_candidate": best,
           "best_candidate_mean_bpb": arms[best]["mean_bpb"]}
    res["beats_best_candidate"] = bool(res["mean_bpb"] < res["best_candidate_mean_bpb"])
    log(f"recommended mix trained: mean bpb {res['mean_bpb']:.4f} (predicted "
        f"{out['recommended']['predicted_mean_bpb']:.4f}; best candidate {best} {res['best_candidate_mean_bpb']:.4f})")
    return res


def _mix_search(o: Options, srcs, tok, cfg, sched, evals, result, log) -> dict:
    run = RunLayout(o.mix_run) if o.mix_run else next((s.run for s in srcs.values() if s.run is not None), None)
    if run is None:
        raise ValueError("mix search needs a run: give --mix-run RUN or an arm from a run folder")
    if o.apply:  # checked before any training: the run can be re-mixed, and OUTPUT is not the run
        from curation.evaluation import remix

        if RunLayout(o.apply).uri == run.uri:
            raise ValueError(f"--apply {o.apply}: that is the run itself; name a new run folder")
        remix.plan(run, total_tokens=o.apply_tokens)
    pool = ArmDocs(sources.mix_pool(run))
    doms = sorted(set(pool.domains().tolist()) - {""})
    if o.mix_candidates:
        cands = ms.load_candidates(o.mix_candidates)
        unknown = sorted({d for c in cands for d in c} - set(doms))
        if unknown:
            raise ValueError(f"{o.mix_candidates}: domains not in the run: {', '.join(unknown)}")
    pool_tokens = _domain_tokens(pool, doms, tok)
    natural = {d: n / sum(pool_tokens.values()) for d, n in pool_tokens.items()}
    caps = ms.epoch_caps(pool_tokens, sched.steps * o.batch * (o.seq_len + 1), MIX_MAX_EPOCHS)
    if o.mix_candidates:
        cands = [ms.cap(c, caps) for c in cands]
    else:
        cands = ms.grid(doms, o.mix_grid, seed=0, include=sources.run_mix_target(run), caps=caps, natural=natural)
    log(f"mix search over {len(cands)} mixes of {run.uri} ({', '.join(doms)}), {o.seeds} seed(s) each")
    n_seqs = sched.steps * o.batch
    losses = {e: [] for e in evals}
    arms = {}
    for i, c in enumerate(cands):
        name = f"mix{i:02d}"
        rec = {"mix": c, "bpb": {e: [] for e in evals}, "train_loss": [], "tokens_per_s": [], "domain_shares": []}
        for seed in range(o.seeds):
            d = draw(pool, tok, seed, n_seqs, o.seq_len, shares={k: v for k, v in c.items() if v > 0})
            scores, r = _train_and_score(f"{name} seed {seed}", d, tok, cfg, sched, seed, evals, o, log)
            for e, v in scores.items():
                rec["bpb"][e].append(v)
            rec["train_loss"].append(r.losses)
            rec["tokens_per_s"].append(r.tokens_per_s)
            rec["domain_shares"].append(d.shares())
        bpb_mod.summarise_arm(rec, list(evals))
        for e in evals:
            losses[e].append(rec["bpb_mean"][e])
        arms[name] = rec
    result["arms"] = arms
    out = ms.search(doms, cands, losses, caps=caps, per_seed={e: [arms[n]["bpb"][e] for n in arms] for e in evals})
    out["run"] = run.uri
    out["epoch_caps"] = caps
    out["natural_shares"] = natural
    out["verified"] = _verify(o, pool, out, arms, tok, cfg, sched, evals, n_seqs, log)
    if not out["verified"]["beats_best_candidate"]:
        best = out["verified"]["best_candidate"]
        msg = (f"mix search: the recommended mix trained to mean bpb {out['verified']['mean_bpb']:.4f}, not below the "
               f"best candidate's {out['verified']['best_candidate_mean_bpb']:.4f} ({best}); recommending {best}, "
               "the best mix measured, instead")
        result["warnings"].append(msg)
        log("WARNING " + msg)
        out["fitted"] = out["recommended"]  # what the fit predicted best, kept for the record
        target = ms.rounded(arms[best]["mix"], doms)
        i = list(arms).index(best)
        pred = {e: f["predicted"][i] for e, f in out["fit"].items()}
        out["recommended"] = {"target": target, "source": best, "measured_mean_bpb": arms[best]["mean_bpb"],
                              "predicted_bpb": pred, "predicted_mean_bpb": sum(pred.values()) / len(pred)}
        out["yaml"] = ms.target_yaml(target, doms)
    head = f"# curate evaluate mix search over {len(cands)} mixes of {run.uri}; paste under the mix stage\n"
    if out["poor_fit"]:
        def why(e):
            snr = (out["seed_noise"].get(e) or {}).get("signal_to_noise", "n/a")
            return f"{e} R^2 {_fmt(out['fit'][e]['loo_r2'])} S/N {_fmt(snr)}"

        msg = (f"mix search: poor fit (leave-one-out R^2 below {ms.POOR_FIT_R2}, or candidates within "
               f"{ms.MIN_SIGNAL_TO_NOISE:g} standard errors of the seed noise, which one seed cannot measure) for "
               + ", ".join(why(e) for e in out["poor_fit"])
               + ": the recommended mix is not to be trusted; use more candidates (--mix-grid), seeds or --tokens")
        result["warnings"].append(msg)
        log("WARNING " + msg)
        head += f"# WARNING: {msg}\n"
    (Path(o.out) / "recommended_mix.yaml").write_text(head + out["yaml"] + "\n")
    log(f"recommended mix: {out['yaml']} (predicted mean bpb {out['recommended']['predicted_mean_bpb']:.4f})")
    if o.apply:
        out["applied"] = _apply(o, run, out, result, log)
    return out


def _fmt(x) -> str:
    return f"{x:.2f}" if isinstance(x, float) else str(x)


def _apply(o: Options, run: RunLayout, out: dict, result: dict, log) -> dict:
    """``--apply``: the run re-mixed to the recommended target (remix.py); a poor fit does not stop
    it, but is said again; the next command (evaluate the re-mixed run) goes with the result."""
    from curation.evaluation import remix

    if out["poor_fit"]:
        msg = (f"--apply: re-mixing to a recommendation with a poor fit ({', '.join(out['poor_fit'])}); "
               "evaluate the re-mixed run before using it")
        result["warnings"].append(msg)
        log("WARNING " + msg)
    target = out["recommended"]["target"]
    log(f"re-mixing {run.uri} to {out['yaml']} -> {o.apply}")
    applied = remix.apply(run, target, o.apply, workers=o.apply_workers, progress=False, total_tokens=o.apply_tokens)
    evals = " ".join(f"--eval {e}" for e in o.evals or [])
    base = next(((n, s) for n, s in o.arms), None)
    applied["next"] = (f"curate evaluate --arm {base[0]}={base[1]} --arm remixed={applied['output']} "
                       f"--tokens {o.tokens} --seeds {o.seeds} --flavour {o.flavour} "
                       + "".join(f"--{k.replace('_', '-')} {v} " for k, v in (("seq_len", o.seq_len), ("batch", o.batch))
                                 if v != getattr(Options, k))
                       + (evals + " " if evals else "") + f"--out {applied['output']}/evaluate")
    log(f"re-mixed run: {applied['output']} (from {applied['input']}; achieved mix "
        + ", ".join(f"{d} {v:.3f}" for d, v in (applied["achieved_mix"] or {}).items()) + ")")
    return applied
