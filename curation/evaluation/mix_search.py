"""Mix search in the spirit of RegMix (Liu et al. 2024): small runs on candidate mixes, a regression
of each eval set's loss on the mix weights, and the mix that minimises the predicted average.

* Candidates: a file (YAML or JSON: a list of ``{domain: weight}``, or ``{"candidates": [...]}``)
  or ``--mix-grid K``: the run's own target, the data's natural shares (each domain's share of the
  pool's tokens: what training on the documents as they are gives), then seeded Dirichlet draws in
  turn around the target, around the natural shares (concentration ``NEAR_CONCENTRATION``: where a
  fit is needed most) and flat over the run's domains (RegMix samples its candidates from a
  Dirichlet too).
* Epoch cap (:func:`epoch_caps`, :func:`cap`): no candidate asks a domain for more than
  ``max_epochs`` passes over its tokens, neither in the search's training nor in the re-mixed run
  (whose mix is as large as the pool: a share above natural share x ``max_epochs`` would shrink
  it); text of unidentified language (``undetermined``) is never up-sampled (at most its natural
  share); a capped domain's excess goes to the others in proportion.
* Seed noise (:func:`seed_noise`): per eval set, the spread of the candidates' mean bpb against the
  standard error of a candidate's mean from its seeds; a fit to differences within the seed noise
  (or to one seed, which has no noise estimate) is a poor fit.
* Fit, per eval set: ridge regression of bits per byte on the features ``w_d``, ``w_d**2`` and
  ``log(w_d + EPS)`` of every domain ``d``. RegMix fits a linear model (or LightGBM) on the raw
  weights; a model linear in ``w`` alone has its minimum on a corner of the simplex (a one-domain
  mix), while the square and log terms let a domain's returns diminish (Ye et al. 2024, "Data Mixing Laws",
  fit losses that are smooth, convex functions of the proportions), so the optimum can lie inside.
* Search: like RegMix, predict the average over eval sets for many simulated mixes (a flat
  Dirichlet sample plus the candidates) and average the ``TOP_K`` best; the result is rounded to 3
  decimals and normalised, the form ``pipelines/*.yaml`` takes as ``mix.target``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EPS = 0.01  # floor inside the log: a weight of 0 is as bad as 1%, not infinitely bad
RIDGE = 1e-3  # L2 penalty on standardized features (small: the fit is nearly least squares)
SIMULATED = 100_000  # simulated mixes searched (RegMix simulates 1M for its 5 seeds x 64 domains)
TOP_K = 100  # RegMix averages its top-100 predicted mixes
#: Dirichlet concentration of the draws around the target: alpha = NEAR_CONCENTRATION x target
#: (+ 0.5 so an absent domain can appear); at 20 a 0.25 share varies by about +-0.09 (one sd)
NEAR_CONCENTRATION = 20.0
#: leave-one-out R^2 below this (or not measurable) is a poor fit: the recommendation is written
#: with a warning (issue 23: R^2 of -0.42 / 0.15 / 0.39 was written silently)
POOR_FIT_R2 = 0.5
#: the candidates' spread (sd of their mean bpb) must exceed this many standard errors of a
#: candidate's mean (from its seeds) for the fit to be about the mixes and not the seeds
MIN_SIGNAL_TO_NOISE = 2.0
#: domains whose text is never up-sampled by a candidate: their language is unknown
#: (curation.domains.UNDETERMINED), so more passes over it are a blind bet
ONCE_ONLY = ("undetermined",)


def cap(mix: dict[str, float], caps: dict[str, float] | None) -> dict[str, float]:
    """``mix`` with no domain above its cap (the largest share its tokens can fill at the epoch
    limit); what a capped domain loses goes to the uncapped ones in proportion. ValueError when the
    caps sum below 1 (too little data for any mix)."""
    if not caps:
        return mix
    if sum(min(caps.get(d, 1.0), 1.0) for d in mix) < 1.0 - 1e-9:
        raise ValueError("the run's domains hold too few tokens for the training budget at the epoch cap: "
                         + ", ".join(f"{d} at most {caps.get(d, 1.0):.3f}" for d in mix) + " (use fewer --tokens)")
    out = dict(mix)
    for _ in range(len(out) + 1):
        over = {d for d, w in out.items() if w > caps.get(d, 1.0) + 1e-12}
        if not over:
            break
        excess = sum(out[d] - caps[d] for d in over)
        for d in over:
            out[d] = caps[d]
        free = {d: w for d, w in out.items() if w < caps.get(d, 1.0) - 1e-12}
        tot = sum(free.values())
        for d, w in free.items():
            out[d] = w + excess * (w / tot if tot > 0 else 1.0 / len(free))
    return out


def epoch_caps(tokens: dict[str, float], need: float, max_epochs: float = 4.0,
               once: tuple[str, ...] = ONCE_ONLY) -> dict[str, float]:
    """Per domain, the largest share a mix may give it, from its ``tokens`` in the pool:

    * the search's training (``need`` tokens) reads it at most ``max_epochs`` times;
    * the re-mixed run's mix (as many tokens as the pool, the mix stage's default) repeats it at
      most ``max_epochs`` times: a share of at most natural share x ``max_epochs``;
    * a domain of ``once`` (text of unidentified language) is not up-sampled: at most 1 pass in
      both, so at most its natural share."""
    total = float(sum(tokens.values()))
    caps = {}
    for d, n in tokens.items():
        e = 1.0 if d in once else max_epochs
        natural = n / total if total > 0 else 0.0
        caps[d] = float(min(1.0, n * e / need if need > 0 else 1.0, natural * e))
    return caps


def _normalised(mix: dict[str, float] | None, domains: list[str]) -> np.ndarray | None:
    if not mix:
        return None
    tot = sum(mix.get(d, 0.0) for d in domains)
    return np.array([mix.get(d, 0.0) / tot for d in domains]) if tot > 0 else None


def grid(domains: list[str], k: int, seed: int = 0, include: dict[str, float] | None = None,
         caps: dict[str, float] | None = None, natural: dict[str, float] | None = None) -> list[dict[str, float]]:
    """``k`` candidate mixes: ``include`` (the run's target) and ``natural`` (the data's own shares)
    first, then Dirichlet draws in turn around each of them and flat (all flat without either);
    every mix within ``caps`` (:func:`cap`)."""
    rng = np.random.default_rng(seed)
    centres = [c for c in (_normalised(include, domains), _normalised(natural, domains)) if c is not None]
    out = [{d: float(x) for d, x in zip(domains, c)} for c in centres][:k]
    turn = 0
    while len(out) < k:
        kind = turn % (len(centres) + 1)
        turn += 1
        alpha = NEAR_CONCENTRATION * centres[kind] + 0.5 if kind < len(centres) else np.ones(len(domains))
        w = rng.dirichlet(alpha)
        out.append({d: float(x) for d, x in zip(domains, w)})
    return [cap(m, caps) for m in out]


def seed_noise(per_seed: dict[str, list[list[float]]]) -> dict[str, dict]:
    """Per eval set, from ``per_seed[eval][candidate]`` (bpb per seed): ``spread`` (sd of the
    candidates' means), ``noise`` (the standard error of one candidate's mean, from the pooled
    seed variance; None with one seed) and ``signal_to_noise`` (their ratio; None with one seed)."""
    out = {}
    for e, rows in per_seed.items():
        means = np.array([np.mean(r) for r in rows], float)
        spread = float(means.std(ddof=1)) if len(means) > 1 else 0.0
        multi = [r for r in rows if len(r) > 1]
        if multi:
            var = float(np.mean([np.var(r, ddof=1) for r in multi]))
            noise = float(np.sqrt(var / np.mean([len(r) for r in multi])))
            snr = spread / noise if noise > 0 else float("inf")
        else:
            noise, snr = None, None
        out[e] = {"spread": spread, "noise": noise, "signal_to_noise": snr}
    return out


def load_candidates(path: str | Path) -> list[dict[str, float]]:
    p = Path(path)
    text = p.read_text()
    if p.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("candidates", [])
    if not isinstance(data, list) or not data or not all(isinstance(x, dict) for x in data):
        raise ValueError(f"{p}: expected a list of {{domain: weight}} mixes (or {{'candidates': [...]}})")
    out = []
    for i, c in enumerate(data):
        c = {str(k): float(v) for k, v in (c.get("target", c)).items()}
        if any(v < 0 for v in c.values()) or sum(c.values()) <= 0:
            raise ValueError(f"{p}: candidate {i}: weights must be >= 0 and not all 0")
        tot = sum(c.values())
        out.append({k: v / tot for k, v in c.items()})
    return out


def features(W: np.ndarray) -> np.ndarray:
    return np.concatenate([W, W * W, np.log(W + EPS)], axis=1)


class Fit:
    """Ridge regression of one eval set's bpb on ``features(W)``."""

    def __init__(self, W: np.ndarray, y: np.ndarray):
        X = features(W)
        self.mu, self.sd = X.mean(0), X.std(0) + 1e-12
        Z = (X - self.mu) / self.sd
        self.y0 = float(y.mean())
        A = Z.T @ Z + RIDGE * len(y) * np.eye(Z.shape[1])
        self.coef = np.linalg.solve(A, Z.T @ (y - self.y0))

    def predict(self, W: np.ndarray) -> np.ndarray:
        return ((features(W) - self.mu) / self.sd) @ self.coef + self.y0


def _loo_r2(W: np.ndarray, y: np.ndarray) -> float | None:
    """Leave-one-out R^2 of the fit (how well it predicts a mix it did not see)."""
    if len(y) < 3:
        return None
    pred = np.array([Fit(np.delete(W, i, 0), np.delete(y, i)).predict(W[i: i + 1])[0] for i in range(len(y))])
    ss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else None


def search(domains: list[str], mixes: list[dict[str, float]], losses: dict[str, list[float]], seed: int = 0,
           caps: dict[str, float] | None = None, per_seed: dict[str, list[list[float]]] | None = None) -> dict:
    """Fit every eval set, then the mix minimising the predicted mean over eval sets.

    ``losses[eval][i]`` is the bpb of candidate ``mixes[i]`` (mean over seeds); ``per_seed[eval][i]``
    its bpb per seed, for the seed noise (:func:`seed_noise`): an eval set whose candidates differ
    by less than ``MIN_SIGNAL_TO_NOISE`` standard errors, or measured with one seed, is a poor fit."""
    W = np.array([[m.get(d, 0.0) for d in domains] for m in mixes], dtype=float)
    fits = {e: Fit(W, np.asarray(v, float)) for e, v in losses.items()}
    rng = np.random.default_rng(seed)
    S = np.concatenate([rng.dirichlet(np.ones(len(domains)), SIMULATED), W])
    if caps:  # only mixes the data can fill at the epoch cap
        limit = np.array([caps.get(d, 1.0) for d in domains]) + 1e-9
        S = S[(S <= limit).all(1)]
    pred = np.mean([f.predict(S) for f in fits.values()], axis=0)
    top = np.argsort(pred)[:TOP_K]
    target = rounded(dict(zip(domains, S[top].mean(0))), domains)
    bw = np.array([[target[d] for d in domains]])
    loo = {e: _loo_r2(W, np.asarray(losses[e], float)) for e in losses}
    noise = seed_noise(per_seed) if per_seed else {}
    noisy = {e for e, n in noise.items() if n["signal_to_noise"] is None or n["signal_to_noise"] < MIN_SIGNAL_TO_NOISE}
    return {
        "poor_fit": sorted(e for e, r in loo.items() if r is None or r < POOR_FIT_R2 or e in noisy),
        "seed_noise": noise,
        "domains": domains,
        "candidates": [{"mix": m, "bpb": {e: float(v[i]) for e, v in losses.items()}} for i, m in enumerate(mixes)],
        "fit": {e: {"loo_r2": loo[e],
                    "predicted": [float(x) for x in fits[e].predict(W)]} for e in losses},
        "recommended": {"target": target,
                        "predicted_bpb": {e: float(f.predict(bw)[0]) for e, f in fits.items()},
                        "predicted_mean_bpb": float(np.mean([f.predict(bw)[0] for f in fits.values()]))},
        "yaml": target_yaml(target, domains),
    }


def rounded(mix: dict[str, float], domains: list[str]) -> dict[str, float]:
    """``mix`` over ``domains`` normalised and rounded to 3 decimals, summing to exactly 1."""
    w = np.array([mix.get(d, 0.0) for d in domains], dtype=float)
    w = np.round(w / w.sum(), 3)
    w[np.argmax(w)] += round(1.0 - float(w.sum()), 3)  # exact sum of 1 after rounding
    return {d: float(round(x, 3)) for d, x in zip(domains, w)}


def target_yaml(target: dict[str, float], domains: list[str]) -> str:
    """The ``target: {...}`` line that ``pipelines/*.yaml`` takes as ``mix.target``."""
    return "target: {" + ", ".join(f"{d}: {target[d]:.3f}" for d in domains) + "}"
