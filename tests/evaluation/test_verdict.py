"""evaluate's verdict: better / worse / within noise from the seed spread, warnings for a model that
learned nothing or an eval set too small, and a console table whose columns never run together."""

from __future__ import annotations

import math


def test_verdict_from_the_seed_spread():
    from curation.evaluation.evaluate import _verdict

    assert _verdict([1.00, 1.01, 1.02], [1.10, 1.11, 1.12])[0] == "better"
    assert _verdict([1.10, 1.11, 1.12], [1.00, 1.01, 1.02])[0] == "worse"
    assert _verdict([1.00, 1.05, 1.10], [1.01, 1.06, 1.09])[0] == "within noise"
    assert _verdict([1.0], [2.0])[0].startswith("one seed")


def test_warnings_learned_nothing_and_small_sets():
    from curation.evaluation.evaluate import judge_warnings

    res = {"train": {"vocab_size": 4096},
           "arms": {"a": {"train_loss": [[9.0, 8.8]]}, "b": {"train_loss": [[9.0, 3.0]]}},
           "evals": {"prose": {"texts": 4, "bytes": 29_000}, "code": {"texts": 30, "bytes": 90_000}}}
    w = judge_warnings(res)
    assert any(x.startswith("arm a:") and f"ln(4096) = {math.log(4096):.2f}" in x for x in w)
    assert not any(x.startswith("arm b:") for x in w)
    assert any(x.startswith("eval set prose:") for x in w) and not any("eval set code" in x for x in w)


def test_console_table_columns_are_apart(capsys):
    from curation.commands.evaluate import _print_table

    evals = {"math": {}, "multilingual": {}}
    arm = {"bpb_mean": {"math": 4.4, "multilingual": 7.5}, "mean_bpb": 5.9}
    _print_table({"evals": evals, "arms": {"base": arm, "other": arm}, "options": {"out": "x"},
                  "comparison": {"baseline": "base", "relative": {"other": {"math": 0.0, "multilingual": 0.0, "mean": 0.0}},
                                 "verdict": {"other": {"math": "within noise", "multilingual": "better",
                                                       "mean": "within noise"}}}})
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("arm"))
    assert header.split() == ["arm", "math", "multilingual", "mean"]
    assert "multilingual +0.0% (better)" in out
