"""The bundled eval suite has one owner, curation.io.eval_suite: the classifiers, the trainer and
``curate evaluate`` read the same texts through it."""

from __future__ import annotations

from curation.evaluation import suite
from curation.io import eval_suite


def test_the_suite_is_its_five_sets_and_evaluate_reads_the_same_texts():
    texts = eval_suite.texts()
    assert sorted(texts) == ["code", "math", "multilingual", "news", "prose"]
    assert all(texts[n] and all(isinstance(t, str) and t.strip() for t in texts[n]) for n in texts)
    assert suite.load(None) == texts
    assert {n: p.name for n, p in suite.default_suite().items()} == {n: p.name for n, p in eval_suite.files().items()}


def test_a_users_eval_file_is_read_beside_the_suite(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("one held-out text", encoding="utf-8")
    assert suite.load([f"mine={f}"]) == {"mine": ["one held-out text"]}
