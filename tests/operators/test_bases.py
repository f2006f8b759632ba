"""The Filter and Annotator bases on real documents from the bundled sample, without a cluster."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from curation.operators import Annotator, Decision, Filter, reasons_where


@pytest.fixture(scope="module")
def docs(sample_dir) -> pa.Table:
    with gzip.open(sample_dir / "text" / "gsm8k_train_300.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh][:40]
    return pa.table({"id": [f"g{i}" for i in range(len(rows))], "url": [None] * len(rows),
                     "text": pa.array([r["text"] for r in rows], pa.large_string())})


class Short(Filter):
    name = "short"

    def decide(self, table):
        n = pc.utf8_length(table.column("text"))
        short = pc.less(n, 200)
        reasons = reasons_where(short, "too_short", reasons_where(pc.greater(n, 400), "too_long"))
        return reasons, [f"{v} chars" if r else None for v, r in zip(n.to_pylist(), reasons)]


def test_filter_splits_by_reason_with_stage_and_detail(docs):
    res = Short().process(docs)
    n = np.array(pc.utf8_length(docs.column("text")).to_pylist())
    assert res.kept.num_rows == int(((n >= 200) & (n <= 400)).sum()) and res.kept.num_rows + res.rejected.num_rows == 40
    rej = res.rejected.to_pylist()
    assert {r["stage"] for r in rej} == {"short"} and {r["reason"] for r in rej} <= {"too_short", "too_long"}
    assert all(r["detail"] == f"{len(r['text'])} chars" for r in rej)


def test_filter_with_the_wrong_number_of_reasons_is_an_error(docs):
    class Broken(Filter):
        def decide(self, table):
            return [None]

    with pytest.raises(ValueError, match="decide returned 1 reasons for 40 rows"):
        Broken(stage="broken").process(docs)


def test_annotator_replaces_a_column_of_the_same_name(docs):
    class Chars(Annotator):
        name = "chars"

        def annotate(self, table):
            return {"chars": pc.utf8_length(table.column("text")).cast(pa.int32())}

    once = Chars().process(docs).kept
    twice = Chars().process(once)
    assert twice.kept.column_names == once.column_names == docs.column_names + ["chars"]
    assert twice.kept.column("chars").to_pylist() == [len(t) for t in docs.column("text").to_pylist()]
    assert twice.rejected.num_rows == 0 and "reason" in twice.rejected.column_names


class Measured(Filter):
    """A filter that records what it measured: ``chars`` on every row, the text rewritten in place."""

    name = "measured"

    def decide(self, table):
        n = pc.utf8_length(table.column("text"))
        return Decision(reasons_where(pc.greater(n, 400), "too_long"), None,
                        columns={"chars": n.cast(pa.int32())},
                        rewrite={"text": pc.utf8_upper(table.column("text"))})


def test_a_decision_adds_its_columns_to_kept_and_rejected_rows(docs):
    with_old = docs.append_column("chars", pa.array([-1] * docs.num_rows, pa.int32()))
    res = Measured().process(with_old)
    n = [len(t) for t in docs.column("text").to_pylist()]
    assert res.kept.num_rows == sum(v <= 400 for v in n) > 0 and res.rejected.num_rows == sum(v > 400 for v in n) > 0
    # the measured column replaces the old one (appended again: a re-run stage keeps the column order)
    assert res.kept.column_names == docs.column_names + ["chars"]
    assert sorted(res.kept.column("chars").to_pylist() + res.rejected.column("chars").to_pylist()) == sorted(n)
    assert set(res.rejected.column("reason").to_pylist()) == {"too_long"}
    # the rewritten column stays where it was, on both sides of the split
    assert res.kept.column_names.index("text") == docs.column_names.index("text")
    assert all(t == t.upper() for t in res.kept.column("text").to_pylist() + res.rejected.column("text").to_pylist())


def test_a_decision_column_of_the_wrong_length_is_an_error(docs):
    class Broken(Filter):
        def decide(self, table):
            return Decision([None] * table.num_rows, columns={"x": pa.array([1, 2])})

    with pytest.raises(ValueError, match="stage broken: column 'x' has 2 values for 40 rows"):
        Broken(stage="broken").process(docs)
