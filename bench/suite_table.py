"""The table of one ``curate evaluate`` run over a subset of its eval sets (a suite), with the mean
over that subset and ``curate evaluate``'s own verdicts (``_comparison``) against the first arm.

One evaluate run can score two suites (the bundled one and ``bench/heldout_suite.py``'s) with
``--eval`` given for both; the run's own mean is then over every set. This prints each suite apart:

    .venv/bin/python bench/suite_table.py runs/eval-final/evaluate.json \
        --suite bundled=code,math,multilingual,news,prose --suite heldout=code2,math2,news2,udhr2,web

Per suite: one row per arm (bpb per set, mean over seeds; the per-seed means of the suite), then
per non-first arm the change against the first and the verdict (better / worse / within noise:
two standard errors of the seed spread). Last line: one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.evaluation.evaluate import _comparison  # noqa: E402
from curation.train.bpb import summarise_arm  # noqa: E402


def suite_view(result: dict, sets: list[str]) -> dict:
    """The arms of ``result`` restricted to ``sets`` (summarised again), and their comparison."""
    arms = {}
    for n, a in result["arms"].items():
        missing = [e for e in sets if e not in a["bpb"]]
        if missing:
            raise SystemExit(f"arm {n} has no eval set {', '.join(missing)}")
        rec = {"bpb": {e: a["bpb"][e] for e in sets}}
        summarise_arm(rec, sets)
        arms[n] = rec
    return {"arms": arms, "comparison": _comparison(arms, sets)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("evaluate_json")
    ap.add_argument("--suite", action="append", required=True, help="NAME=SET,SET,...")
    a = ap.parse_args(argv)
    result = json.loads(Path(a.evaluate_json).read_text())
    out = {}
    for spec in a.suite:
        name, _, sets = spec.partition("=")
        sets = [s for s in sets.split(",") if s]
        v = suite_view(result, sets)
        out[name] = v
        print(f"\n{name}: mean bpb over seeds (per-seed means of the suite in the last column)")
        print("| arm | " + " | ".join(sets) + " | mean | per seed |")
        print("| --- | " + " | ".join("---" for _ in sets) + " | --- | --- |")
        for n, r in v["arms"].items():
            print(f"| {n} | " + " | ".join(f"{r['bpb_mean'][e]:.3f}" for e in sets)
                  + f" | {r['mean_bpb']:.3f} | " + ", ".join(f"{x:.3f}" for x in r["mean_bpb_per_seed"]) + " |")
        c = v["comparison"]
        for n, rel in (c.get("relative") or {}).items():
            ver = c["verdict"][n]
            print(f"| {n} vs {c['baseline']} | " + " | ".join(f"{rel[e]:+.1%} ({ver[e]})" for e in sets)
                  + f" | {rel['mean']:+.1%} ({ver['mean']}) | |")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
