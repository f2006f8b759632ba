"""mix: token-weighted sampling to a target domain mix, plus the annealing set (global stage).

Llama 3 (Section 3.1.2): the final pre-training mix is roughly 50% general knowledge, 25% math and
reasoning, 17% code and 8% multilingual tokens, with over-represented topics (arts and
entertainment) down-sampled; annealing (Section 3.4.3) uses a small set of the highest-quality data.

Phases (no phase holds the corpus; every decision comes from a seeded hash of the document id and
its own columns):

* collect, per shard: token counts with a named tokenizer, then two sparse histograms per group,
  one row per non-empty bin: tokens by (domain, topic, priority bin of the id) and tokens by (domain,
  quality bin). ``key`` is a hash of the row's group and bin, so bins spread over partitions.
* combine, per key partition: sums the bins; the result is broadcast (a few rows per bin).
* apply, per shard: from all the bins, the sampling rate of every (domain, topic) group: the mix
  has ``N`` tokens (``total_tokens``, or as many as the corpus has), domain d gets ``N x target[d]``
  tokens spread over its topics by ``topic_weights``, so group g's rate is ``r_g = k + f``: every
  document gets k copies and one more when its priority bin is below the bin where the group's
  cumulative tokens reach ``f x tokens``. The priority is the seeded id hash tilted toward quality
  (Efraimidis-Spirakis keys with weight ``exp(quality_preference x quality)``, :func:`priority_bin`),
  so the fractional copies go to the better documents; ``quality_preference: 0`` orders by the id
  hash alone. ``N`` shrinks until no group needs more than
  ``max_epochs`` copies (repetition of scarce domains is capped, and reported). A document is in
  the annealing set when its quality bin is among the top ``anneal_fraction`` of its domain's
  tokens. Columns: ``tokens`` (int64), ``quality`` (float32), ``mix_copies`` (int32), ``anneal``
  (bool). Documents with no copy and not in the annealing set are rejected (``not_sampled``);
  ``undetermined`` documents (language not identified) when that domain has no share in ``target``
  (the default) are rejected as ``undetermined_language`` and kept out of the annealing set.
* still in apply, per shard (``shard_outputs``, written by the workers with the shard's commit):
  ``mix/part-*.parquet`` (each document repeated ``mix_copies`` times, rows ordered by a seeded
  hash) and ``anneal/part-*.parquet``, plus a small summary per domain: distinct ``documents``,
  ``occurrences`` (rows, a document once per copy) and ``tokens`` (of the rows: what the trainer reads).
* finalize (driver, after apply): merges the per-shard summaries into ``manifest.json``
  (:mod:`curation.run.manifest`); the driver reads no document.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from curation import schema
from curation.domains import DOMAINS, UNDETERMINED
from curation.hashing import hash64
from curation.operators.base import KEY, GlobalOperator, OpResult, Params, with_columns
from curation.operators.context import ShardContext
from curation.run.manifest import FORMAT as MANIFEST_FORMAT

# DOMAINS' ``undetermined``: text whose language could not be identified; no share in the default target,
# so the mix rejects it (``undetermined_language``) unless ``target`` gives it one
BINS = 4096  # histogram resolution of both the id hash and the quality score
HASH_KIND, QUALITY_KIND = 0, 1
OUTPUTS = ("mix", "anneal")
_OUT_FIELDS = ["id", "text", "domain", "topic", "quality", "tokens", "url", "source", "lang", "domain_score",
               "quality_fasttext", "quality_roberta"]


class MixParams(Params):
    #: token share per domain; Llama 3 (Section 3.1.2): "roughly 50% of tokens corresponding to
    #: general knowledge, 25% of mathematical and reasoning tokens, 17% code tokens, and 8%
    #: multilingual tokens". Normalised to sum to 1.
    target: dict[str, float] = Field(default_factory=lambda: {"general": 0.50, "math": 0.25, "code": 0.17,
                                                              "multilingual": 0.08})
    #: sampling weight of fine topics (1.0 when absent). Llama 3 down-samples "data categories that are
    #: over-represented on the web (e.g., arts and entertainment)" without giving a factor; 0.5 is ours.
    topic_weights: dict[str, float] = Field(default_factory=lambda: {"arts_entertainment": 0.5})
    #: most copies of one document when a domain is scarce: Muennighoff et al. 2023 ("Scaling
    #: Data-Constrained Language Models") find up to ~4 epochs of repetition nearly as good as new data.
    max_epochs: float = Field(4.0, ge=1.0)
    #: tokens in the mix; None: as many tokens as the corpus has (then capped by max_epochs)
    total_tokens: int | None = Field(None, gt=0)
    #: share of each domain's tokens, best quality first, in the annealing set (ours; Llama 3 anneals
    #: on a small amount of high-quality data, Section 3.4.3)
    anneal_fraction: float = Field(0.1, ge=0.0, le=1.0)
    #: seed of the id hash behind every sampling decision
    seed: int = 0
    #: tokenizer for token counts: a tokenizer.json or a local Hugging Face folder (the trainer's);
    #: None: <models>/tokenizer.json, trained on first use from the bundled data
    tokenizer: str | None = None
    #: models folder for the default tokenizer (default: $CURATION_MODELS or models/ at the repo root)
    models: str | None = None
    #: column ranking the annealing set and tilting the sampling (falls back to quality_roberta,
    #: quality_fasttext, then 0.5)
    quality_column: str = "quality"
    #: beta of the quality tilt of the sampling (docs/models.md, "Quality preference"): a fractional
    #: copy goes by Efraimidis-Spirakis priority with weight exp(beta * quality), quality clipped to
    #: [0, 1]; 0 = by id hash alone (no preference). Off by default: the ``quality`` stage's score
    #: fails the selection test (issue 24, docs/models.md "Does the score pick better data?"; it ranks
    #: training value backwards on make curate's run), so tilting toward it would tilt toward worse
    #: data; pipelines/llama3.yaml sets 3 on the ``quality_rank`` stage's ``quality``, which passes. GPT-3 (Brown et al. 2020, Appendix A) resampled with a Pareto rule whose
    #: keep odds grow about exp(6) per unit of score; 3 is half that tilt, for a score that passes.
    quality_preference: float = Field(0.0, ge=0.0, le=20.0)

    @field_validator("target")
    @classmethod
    def _domains(cls, v):
        bad = sorted(set(v) - set(DOMAINS))
        if bad:
            raise ValueError(f"unknown domains {bad}; known: {list(DOMAINS)}")
        if any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("target shares must be >= 0 and not all 0")
        return v

    @field_validator("topic_weights")
    @classmethod
    def _weights(cls, v):
        if any(x < 0 for x in v.values()):
            raise ValueError("topic weights must be >= 0")
        return v


def id_hash(ids: list[str], seed: int) -> np.ndarray:
    return np.array([hash64(f"{seed}\x1f{i}") for i in ids], dtype=np.uint64)


def priority_bin(u: np.ndarray, quality: np.ndarray, beta: float) -> np.ndarray:
    """The sampling-order bin (0..BINS-1, lower = sampled first) of each document from its seeded id
    hash ``u`` (uint64) and its quality.

    beta = 0: the top 12 bits of the hash, as before the quality tilt (byte-equal runs). beta > 0:
    Efraimidis-Spirakis weighted sampling without replacement ("Weighted random sampling with a
    reservoir", 2006) takes the items with the largest keys ``v^(1/w)``, v uniform in (0, 1); with
    ``v = 1 - x``, x the hash as a number in (0, 1), and ``w = exp(beta * (q - 1))`` (q clipped to
    [0, 1], so the best document has w = 1 and order x), the order is ``r = 1 - (1 - x)^(1/w)``
    ascending: r = x at beta = 0, and a lower quality pushes r toward 1. ``r`` is binned into the
    BINS bins of the mix's histogram."""
    if beta == 0:
        return (u >> np.uint64(64 - 12)).astype(np.int32)  # 4096 bins
    x = ((u >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)  # (0, 1), 53 bits
    q = np.clip(np.nan_to_num(np.asarray(quality, np.float64), nan=0.0), 0.0, 1.0)
    r = -np.expm1(np.log1p(-x) * np.exp(beta * (1.0 - q)))
    return np.clip((r * BINS).astype(np.int64), 0, BINS - 1).astype(np.int32)


class Mix(GlobalOperator):
    name = "mix"
    requires = ("domain",)  # without it every document would be `general`
    provides = ("domain", "topic", "quality", "tokens", "mix_copies", "anneal")
    writes_outputs = True
    outputs = OUTPUTS  # mix/ and anneal/, one file per shard, committed by the engine with the shard
    Params = MixParams

    # -- tokens ------------------------------------------------------------------------------
    def tokenizer_path(self) -> str:
        from curation.classifiers import models_dir as md

        return md.tokenizer_path(self.params.tokenizer, self.params.models)

    def setup(self) -> None:
        from curation.tokenizer import load_tokenizer

        self._tok = load_tokenizer(self.tokenizer_path())

    def count_tokens(self, texts: list[str]) -> np.ndarray:
        """Tokens of each text with the mix's tokenizer (after ``setup()``)."""
        if not texts:
            return np.zeros(0, np.int64)
        return np.array([len(x) for x in self._tok.encode_batch(texts)], np.int64)

    # -- per-document columns ----------------------------------------------------------------
    def _doc_columns(self, table: pa.Table):
        p: MixParams = self.params
        n = table.num_rows
        names = table.column_names
        domain = table.column("domain").to_pylist() if "domain" in names else ["general"] * n
        domain = [d if d in DOMAINS else "general" for d in domain]
        topic = [t or "" for t in table.column("topic").to_pylist()] if "topic" in names else [""] * n
        for col in (p.quality_column, "quality_roberta", "quality_fasttext"):
            if col in names:
                quality = pc.fill_null(table.column(col).cast(pa.float32()), 0.0).to_numpy(zero_copy_only=False)
                break
        else:
            quality = np.full(n, 0.5, np.float32)
        quality = np.asarray(quality, np.float32)
        if "tokens" in names:
            tokens = table.column("tokens").cast(pa.int64()).to_numpy(zero_copy_only=False)
        else:
            tokens = self.count_tokens([t or "" for t in table.column(schema.TEXT).to_pylist()])
        u = id_hash(table.column(schema.ID).to_pylist(), p.seed)
        hbin = priority_bin(u, quality, p.quality_preference)
        qbin = np.clip((np.nan_to_num(quality, nan=0.0) * BINS).astype(np.int64), 0, BINS - 1).astype(np.int32)
        return domain, topic, quality, np.asarray(tokens, np.int64), hbin, qbin

    # -- collect / combine -------------------------------------------------------------------
    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        domain, topic, _, tokens, hbin, qbin = self._doc_columns(table)
        n = len(domain)
        t = pa.table({
            "kind": pa.array(np.concatenate([np.full(n, HASH_KIND), np.full(n, QUALITY_KIND)]).astype(np.int8)),
            "domain": pa.array(domain + domain, pa.string()),
            "topic": pa.array(topic + [""] * n, pa.string()),
            "bin": pa.array(np.concatenate([hbin, qbin]), pa.int32()),
            "tokens": pa.array(np.concatenate([tokens, tokens]), pa.int64()),
            "docs": pa.array(np.ones(2 * n, np.int64)),
        })
        t = self._sum_bins(t)
        keys = [hash64(f"{k}\x1f{d}\x1f{tp}\x1f{b}") for k, d, tp, b in zip(
            t.column("kind").to_pylist(), t.column("domain").to_pylist(), t.column("topic").to_pylist(),
            t.column("bin").to_pylist())]
        return t.append_column(KEY, pa.array(keys, pa.uint64()))

    @staticmethod
    def _sum_bins(t: pa.Table) -> pa.Table:
        cols = ["kind", "domain", "topic", "bin", "tokens", "docs"]
        g = t.group_by(cols[:4]).aggregate([("tokens", "sum"), ("docs", "sum")])
        g = g.select(cols[:4] + ["tokens_sum", "docs_sum"]).rename_columns(cols)
        return g.sort_by([(c, "ascending") for c in cols[:4]])

    def combine(self, rows: pa.Table) -> pa.Table:
        cols = ["kind", "domain", "topic", "bin", "tokens", "docs"]
        if rows.num_rows == 0:
            return pa.schema([("kind", pa.int8()), ("domain", pa.string()), ("topic", pa.string()),
                              ("bin", pa.int32()), ("tokens", pa.int64()), ("docs", pa.int64())]).empty_table()
        return self._sum_bins(rows.select(cols))

    # -- the plan: rates and thresholds from the broadcast bins -------------------------------
    def plan(self, decisions: pa.Table) -> dict:
        """Same decisions in, same plan out, on every shard (sorted, integer arithmetic first)."""
        p: MixParams = self.params
        if decisions.num_rows:
            d = self.combine(decisions.select(["kind", "domain", "topic", "bin", "tokens", "docs"]))
        else:
            d = decisions
        rows = d.to_pylist() if d.num_rows else []
        hist: dict[tuple[str, str], np.ndarray] = {}
        qhist: dict[str, np.ndarray] = {}
        docs: dict[str, int] = {}
        for r in rows:
            if r["kind"] == HASH_KIND:
                hist.setdefault((r["domain"], r["topic"]), np.zeros(BINS, np.int64))[r["bin"]] += r["tokens"]
                docs[r["domain"]] = docs.get(r["domain"], 0) + r["docs"]
            else:
                qhist.setdefault(r["domain"], np.zeros(BINS, np.int64))[r["bin"]] += r["tokens"]
        tok = {g: int(h.sum()) for g, h in hist.items()}
        avail = {dm: sum(v for (d_, _), v in tok.items() if d_ == dm) for dm in DOMAINS}
        w = {g: (p.topic_weights.get(g[1], 1.0) if g[1] else 1.0) for g in hist}
        weighted = {dm: sum(tok[g] * w[g] for g in hist if g[0] == dm) for dm in DOMAINS}
        notes = []
        target = {dm: float(p.target.get(dm, 0.0)) for dm in DOMAINS}
        for dm in DOMAINS:
            if target[dm] > 0 and weighted[dm] <= 0:
                notes.append(f"domain {dm}: target {target[dm]:.3f} but no tokens in the input; "
                             "dropped from the target and the rest renormalised")
                target[dm] = 0.0
        tsum = sum(target.values())
        target = {dm: (v / tsum if tsum > 0 else 0.0) for dm, v in target.items()}
        total_avail = sum(avail.values())
        budget = float(p.total_tokens if p.total_tokens is not None else total_avail)
        limit = budget
        for dm in DOMAINS:
            if target[dm] > 0:
                wmax = max(w[g] for g in hist if g[0] == dm and tok[g] > 0)
                if wmax > 0:
                    limit = min(limit, p.max_epochs * weighted[dm] / (target[dm] * wmax))
        if limit < budget:
            notes.append(f"mix size cut from {budget:.0f} to {limit:.0f} tokens so that no document is repeated "
                         f"more than max_epochs={p.max_epochs}")
        n_tokens = limit
        groups = {}
        for g in sorted(hist):
            dm = g[0]
            rate = (n_tokens * target[dm] / weighted[dm]) * w[g] if target[dm] > 0 and weighted[dm] > 0 else 0.0
            rate = min(rate, p.max_epochs)
            k = int(np.floor(rate + 1e-12))
            f = rate - k
            cum = np.concatenate([[0], np.cumsum(hist[g])])  # tokens with bin < b, b = 0..BINS
            threshold = int(np.argmin(np.abs(cum - f * tok[g]))) if f > 0 else 0
            groups[f"{g[0]}/{g[1]}"] = {"rate": rate, "copies": k, "bin_below": threshold}
        for dm in DOMAINS:
            epochs = (n_tokens * target[dm] / avail[dm]) if avail[dm] else 0.0
            if epochs > 1.0 + 1e-9:
                notes.append(f"domain {dm}: {avail[dm]} tokens available for a {target[dm]:.3f} share; "
                             f"up-sampled by repetition to about {epochs:.2f} epochs (cap {p.max_epochs})")
        if avail[UNDETERMINED] and target[UNDETERMINED] <= 0:
            notes.append(f"domain {UNDETERMINED}: {docs.get(UNDETERMINED, 0)} documents ({avail[UNDETERMINED]} tokens) "
                         "of unidentified language have no share in the target: rejected (undetermined_language)")
        anneal = {}
        for dm, h in sorted(qhist.items()):
            want = p.anneal_fraction * h.sum()
            if want <= 0:
                anneal[dm] = BINS + 1
                continue
            from_top = np.concatenate([[0], np.cumsum(h[::-1])])  # tokens with bin >= BINS - j
            j = int(np.argmin(np.abs(from_top - want)))
            anneal[dm] = BINS - j if j > 0 else BINS + 1
        return {"groups": groups, "anneal_bin_at_least": anneal, "target": target, "available_tokens": avail,
                "available_docs": {dm: docs.get(dm, 0) for dm in DOMAINS}, "mix_tokens_planned": n_tokens,
                "notes": notes}

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        if "plan" not in ctx.state:  # apply runs per batch: the plan once per shard
            ctx.state["plan"] = self.plan(decisions)
        plan = ctx.state["plan"]
        domain, topic, quality, tokens, hbin, qbin = self._doc_columns(table)
        n = len(domain)
        copies = np.zeros(n, np.int32)
        anneal = np.zeros(n, bool)
        rates = np.zeros(n)
        for i in range(n):
            g = plan["groups"].get(f"{domain[i]}/{topic[i]}")
            if g is not None:
                copies[i] = g["copies"] + (1 if hbin[i] < g["bin_below"] else 0)
                rates[i] = g["rate"]
            anneal[i] = qbin[i] >= plan["anneal_bin_at_least"].get(domain[i], BINS + 1)
        und = np.array([d == UNDETERMINED for d in domain], bool) & (plan["target"].get(UNDETERMINED, 0.0) <= 0)
        anneal &= ~und  # no share: not in the annealing set either
        table = with_columns(table, {
            "domain": pa.array(domain, pa.string()), "topic": pa.array(topic, pa.string()),
            "quality": pa.array(quality, pa.float32()), "tokens": pa.array(tokens, pa.int64()),
            "mix_copies": pa.array(copies, pa.int32()), "anneal": pa.array(anneal, pa.bool_())})
        drop = (copies == 0) & ~anneal
        reasons = [("undetermined_language" if und[i] else schema.SAMPLED_OUT_REASONS[0]) if drop[i] else None for i in range(n)]
        details = [(f"language not identified; {UNDETERMINED} has no share in the mix target" if und[i] else
                    f"{domain[i]}/{topic[i] or '-'} sampling rate {rates[i]:.3f}") if drop[i] else None
                   for i in range(n)]
        return self.split(table, reasons, details)

    # -- per shard, in the apply step: the trainer's files --------------------------------------
    def shard_outputs(self, kept: pa.Table, ctx: ShardContext) -> tuple[dict[str, pa.Table], dict]:
        """From one shard's kept rows: its ``mix`` rows (each document ``mix_copies`` times, in a
        seeded-hash order) and ``anneal`` rows, and a small summary for the manifest. The engine
        writes both files (as ``mix/<shard>.parquet``, ``anneal/<shard>.parquet``) with the shard."""
        p: MixParams = self.params
        summary = {part: {"documents": {}, "occurrences": {}, "tokens": {}} for part in OUTPUTS}
        summary["topics"] = {}
        t = kept
        if t.num_rows == 0 or "mix_copies" not in t.column_names:
            return {}, summary
        cols = [c for c in _OUT_FIELDS if c in t.column_names]
        copies = t.column("mix_copies").to_numpy(zero_copy_only=False).astype(np.int64)
        idx = np.repeat(np.arange(t.num_rows), copies)
        epoch = np.concatenate([np.arange(c) for c in copies]) if len(idx) else np.zeros(0, np.int64)
        mix = t.select(cols).take(pa.array(idx, pa.int64())).append_column("epoch", pa.array(epoch, pa.int32()))
        ids = mix.column(schema.ID).to_pylist()
        order = np.argsort(np.array([hash64(f"{p.seed}\x1fmix\x1f{i}\x1f{e}") for i, e in zip(ids, epoch)],
                                    dtype=np.uint64), kind="stable")
        mix = mix.take(pa.array(order, pa.int64()))
        ann = t.filter(t.column("anneal")).select(cols)
        tables = {"mix": mix, "anneal": ann}
        for part, tab in tables.items():
            dom = tab.column("domain").to_pylist()
            tk = tab.column("tokens").to_numpy(zero_copy_only=False)
            out = summary[part]
            first = (tab.column("epoch").to_numpy(zero_copy_only=False) == 0) if part == "mix" else np.ones(len(dom), bool)
            for d_, n_, f_ in zip(dom, tk, first):
                out["occurrences"][d_] = out["occurrences"].get(d_, 0) + 1  # rows: what the trainer reads
                out["documents"][d_] = out["documents"].get(d_, 0) + int(f_)  # distinct documents
                out["tokens"][d_] = out["tokens"].get(d_, 0) + int(n_)
            if part == "mix":
                for tp, d_, n_ in zip(tab.column("topic").to_pylist(), dom, tk):
                    key = f"{d_}/{tp}" if tp else d_
                    summary["topics"][key] = summary["topics"].get(key, 0) + int(n_)
        return tables, summary

    # -- finalize (driver): the manifest from the per-shard summaries --------------------------
    def finalize(self, summaries: list[dict], decisions: pa.Table, source_run: str) -> dict:
        """The manifest's content (format ``curation.mix/1``, written by :mod:`curation.run.manifest`)
        from the summaries of every shard in shard order (each with ``outputs``: {part: file
        relative to the run}) and the broadcast decisions (the plan's available tokens and notes)."""
        p: MixParams = self.params
        out = {part: {"files": [], "documents": {}, "occurrences": {}, "tokens": {}} for part in OUTPUTS}
        topics: dict[str, int] = {}
        for summ in summaries:
            for part in OUTPUTS:
                rel = (summ.get("outputs") or {}).get(part)
                if rel is None:
                    continue
                out[part]["files"].append(rel)
                for key in ("documents", "occurrences", "tokens"):
                    for d_, n_ in summ[part].get(key, {}).items():
                        out[part][key][d_] = out[part][key].get(d_, 0) + int(n_)
            for k, n_ in summ.get("topics", {}).items():
                topics[k] = topics.get(k, 0) + int(n_)
        plan = self.plan(decisions) if decisions.num_columns else None
        total = sum(out["mix"]["tokens"].values())
        manifest = {
            "format": MANIFEST_FORMAT,
            "text_column": "text",
            "tokenizer": self.tokenizer_path(),
            "mix": _sorted(out["mix"]),
            "anneal": _sorted(out["anneal"]),
            "target_mix": {d: round(v, 6) for d, v in (plan["target"] if plan else _norm(p.target)).items() if v > 0},
            "achieved_mix": {d: round(v / total, 6) for d, v in sorted(out["mix"]["tokens"].items())} if total else {},
            "config": p.model_dump(mode="json"),
            "source_run": source_run,
            "topic_tokens": dict(sorted(topics.items())),
        }
        if plan:
            manifest["available"] = {"documents": plan["available_docs"], "tokens": plan["available_tokens"]}
            manifest["epochs"] = {d: round(manifest["mix"]["tokens"].get(d, 0) / v, 4)
                                  for d, v in plan["available_tokens"].items() if v}
            manifest["notes"] = plan["notes"]
            for note in plan["notes"]:
                print(f"mix: {note}", file=sys.stderr)
        return manifest


def _norm(target: dict[str, float]) -> dict[str, float]:
    s = sum(target.values())
    return {d: target.get(d, 0.0) / s for d in DOMAINS}


def _sorted(part: dict) -> dict:
    return {"files": part["files"], "documents": dict(sorted(part["documents"].items())),
            "distinct_documents": int(sum(part["documents"].values())),
            "occurrences": dict(sorted(part["occurrences"].items())),
            "tokens": dict(sorted(part["tokens"].items()))}
