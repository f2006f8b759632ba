"""The bundled reference text: the ``hq`` rows of quality.jsonl.gz plus the bundled code, math and
multilingual prose of domain.jsonl.gz's train split, without any row that shares a word 13-gram with
the default eval suite (``common.without_eval``). The reference language model trains on it
(:mod:`curation.classifiers.reference_lm`) and the ``reference`` recipe of the fastText quality
classifier takes it as positives (:mod:`curation.classifiers.quality_fasttext`)."""

from __future__ import annotations

from curation.classifiers.common import bundled, read_jsonl, without_eval

#: domain.jsonl.gz sources that are not reference text (random web pages, the negatives of quality)
NOT_REFERENCE = ("web text",)


def reference_texts(exclude_eval: bool = True) -> list[dict]:
    """Rows {id, text, group, domain} of the bundled reference text (module docstring)."""
    rows = [{"id": r["id"], "text": r["text"], "group": r["group"], "domain": "general"}
            for r in read_jsonl(bundled("quality.jsonl.gz")) if r["label"] == "hq"]
    rows += [{"id": r["id"], "text": r["text"], "group": r["group"], "domain": r["domain"]}
             for r in read_jsonl(bundled("domain.jsonl.gz"))
             if r["split"] == "train" and r["domain"] != "general" and r["source"] not in NOT_REFERENCE]
    if exclude_eval:
        rows = without_eval(rows)
    return rows
