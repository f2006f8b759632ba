"""line_dedup: exact counting per group of N documents, removal of lines seen more than 6 times."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.operators.context import ShardContext
from curation import schema
from curation.operators.base import SHARD
from curation.operators.line_dedup import LineDedup


def _docs(texts, start=0):
    return pa.table({
        schema.ID: pa.array([f"{start + i:016x}" for i in range(len(texts))], pa.string()),
        schema.TEXT: pa.array(texts, pa.large_string()),
    })


def _run(shards: list[list[str]], n_parts: int = 3, **params):
    """The engine's protocol: collect per shard, combine per key partition, apply per shard, with
    the shard context's positions as the runner computes them."""
    op = LineDedup(params)
    total = sum(len(s) for s in shards)
    before, collected = 0, []
    for i, texts in enumerate(shards):
        c = op.collect(_docs(texts, before), ShardContext(index=i, docs_before=before, docs_total=total))
        collected.append(c.append_column(SHARD, pa.array([i] * c.num_rows, pa.int32())))
        before += len(texts)
    rows = pa.concat_tables(collected)
    part = (rows.column("key").to_numpy() % np.uint64(n_parts)).astype(int)
    decisions = pa.concat_tables([op.combine(rows.filter(pa.array(part == p))) for p in range(n_parts)])
    out, before = [], 0
    for i, texts in enumerate(shards):
        mine = decisions.filter(pc.equal(decisions.column(SHARD), i))
        res = op.apply(_docs(texts, before), mine, ShardContext(index=i, docs_before=before, docs_total=total))
        assert res.kept.num_rows + res.rejected.num_rows == len(texts)
        out.append(res)
        before += len(texts)
    return out


def _word(n: int) -> str:  # letters only: digits fold to 0 in the line normalization
    return "".join("abcdefghijklmnopqrstuvwxyz"[int(c)] for c in str(n))


BODY = [" ".join(f"doc{_word(d)} w{_word(k)}" for k in range(30)) for d in range(20)]


def test_more_than_six_removed_six_kept():
    seven = [f"Share this page\n{BODY[d]}\nPosted on 2024-01-{d + 1:02d}" for d in range(7)]
    six = [f"Cookie notice!\n{BODY[d + 7]}" for d in range(6)]
    res = _run([seven[:4] + six[:3], seven[4:] + six[3:]])
    kept = [t for r in res for t in r.kept.column("text").to_pylist()]
    assert len(kept) == 13
    for t in kept:
        assert "Share this page" not in t and "Posted on" not in t  # digits fold: one line, 7 times
    assert sum("Cookie notice!" in t for t in kept) == 6
    removed = [n for r in res for n in r.kept.column("lines_removed").to_pylist()]
    assert sorted(removed) == [0] * 6 + [2] * 7


def test_groups_of_n_documents_count_separately():
    texts = [f"Navigation menu\n{BODY[d]}" for d in range(10)]
    # one group of 10: 10 > 6 -> removed; groups of 5: 5 each -> kept
    one = _run([texts[:6], texts[6:]], group_docs=10)
    two = _run([texts[:6], texts[6:]], group_docs=5)
    assert all("Navigation" not in t for r in one for t in r.kept.column("text").to_pylist())
    assert all("Navigation" in t for r in two for t in r.kept.column("text").to_pylist())


def test_empty_and_too_short_documents_rejected_with_reason():
    boiler = "Home | Shop | Cart\nFree shipping over $50"
    texts = [boiler] * 7 + [f"{boiler}\nonly a few words here", f"{boiler}\n{BODY[0]}", "short untouched doc"]
    (res,) = _run([texts])
    reasons = dict(zip(res.rejected.column("id").to_pylist(), res.rejected.column("reason").to_pylist()))
    assert list(reasons.values()).count("empty_after_line_dedup") == 7
    assert reasons[f"{7:016x}"] == "too_short_after_line_dedup"
    assert res.kept.column("text").to_pylist() == [BODY[0], "short untouched doc"]
    assert res.rejected.column("detail").to_pylist()[0] == "2 of 2 lines removed"


def test_blank_and_punctuation_lines_are_never_removed():
    texts = [f"{BODY[d]}\n\n-----\n{BODY[d + 1]}" for d in range(10)]
    (res,) = _run([texts], min_words=0)
    assert res.kept.column("text").to_pylist() == texts


def test_count_documents_mode_ignores_repeats_inside_a_document():
    texts = ["\n".join(["Reply"] * 8 + [BODY[0]]), BODY[1]]
    (occ,) = _run([texts], count="occurrences")
    (docs,) = _run([texts])
    assert "Reply" not in occ.kept.column("text").to_pylist()[0]
    assert docs.kept.column("text").to_pylist() == texts


def test_non_latin_template_lines_removed(sample_dir):
    """The bundled ClueWeb shop pages are not text yet; use real Japanese from the UDHR sample as
    bodies and a Japanese template line repeated on every page."""
    udhr = [json.loads(l) for l in gzip.open(sample_dir / "text" / "udhr_60.jsonl.gz")]
    bodies = [r["text"] for r in udhr][:8]
    texts = [f"送料無料キャンペーン実施中！\n{b}\nカートを見る" for b in bodies]
    (res,) = _run([texts])
    kept = res.kept.column("text").to_pylist()
    assert len(kept) == 8
    for t, b in zip(kept, bodies):
        assert "送料無料" not in t and "カート" not in t
        assert t == b


def test_batches_of_a_shard_number_documents_through_the_context():
    """Groups come from corpus ordinals: docs_before + the context's batch_offset. One shard applied
    batch by batch (as the engine does, advancing the context) decides as the shard in one batch."""
    texts = [f"Share this page\n{BODY[d]}" for d in range(14)]
    op = LineDedup({"group_docs": 7, "max_occurrences": 6, "min_words": 0})
    whole = op.collect(_docs(texts, 100), ShardContext(docs_before=100, docs_total=114))
    ctx = ShardContext(docs_before=100, docs_total=114)
    parts = []
    for lo in range(0, 14, 3):
        parts.append(op.collect(_docs(texts[lo:lo + 3], 100 + lo), ctx))
        ctx.advance(len(texts[lo:lo + 3]))
    batched = pa.concat_tables(parts).group_by("key").aggregate([("count", "sum")])
    assert dict(zip(batched.column("key").to_pylist(), batched.column("count_sum").to_pylist())) == \
        dict(zip(whole.column("key").to_pylist(), whole.column("count").to_pylist()))
    # 14 documents in groups of 7 (ordinals 100..113: groups 14, 15 and 16): the shared line counts
    # 5, 7 and 2 times, so only the middle group's copies are frequent
    counts = sorted(whole.filter(pc.greater(whole.column("count"), 1)).column("count").to_pylist())
    assert counts == [2, 5, 7]


def test_min_words_counts_the_words_heuristics_counts():
    """One definition of a word (curation.text.words): a Thai line is a few syllable-sized words,
    though the dedup tokens (one per Thai character) are many more."""
    from curation.dedup.text import tokens
    from curation.text.words import word_counts

    thai = "ภาษาไทยเป็นภาษาที่สวยงามมาก"
    n_words, n_tokens = int(word_counts(pa.array([thai]))[0]), int(np.diff(tokens([thai])[1])[0])
    assert n_words < 10 < n_tokens
    docs = [f"Share this page\n{BODY[d]}" for d in range(7)] + [f"Share this page\n{thai}"]
    res = _run([docs], min_words=10)[0]
    assert res.rejected.column("reason").to_pylist() == ["too_short_after_line_dedup"]
    assert res.rejected.column("id").to_pylist() == [f"{7:016x}"]
    assert res.kept.column("text").to_pylist() == BODY[:7]
