import pyarrow as pa

from curation.operators.base import ready
from curation.operators.language import Language, normalize_code
from tests.filters.conftest import doc_table


def test_udhr_languages_identified(udhr_sample):
    op = Language()
    op.setup()
    supported = op.supported_languages()
    res = op.process(doc_table([r["text"] for r in udhr_sample]))
    assert res.rejected.num_rows == 0  # every language kept by default
    assert res.kept.schema.field("lang").type == pa.string()
    assert res.kept.schema.field("lang_score").type == pa.float32()
    got = res.kept.column("lang").to_pylist()
    pairs = [(normalize_code(r["lang_hint"]), g) for r, g in zip(udhr_sample, got)
             if normalize_code(r["lang_hint"]) in supported]
    assert len(pairs) >= 15
    acc = sum(a == b for a, b in pairs) / len(pairs)
    assert acc >= 0.85, pairs


def test_allowed_languages_and_threshold(udhr_sample, ccnet_sample):
    texts = ccnet_sample[:3] + ["Alle Menschen sind frei und gleich an Würde und Rechten geboren. " * 5, "", "12345"]
    res = ready(Language({"languages": ["en"]})).process(doc_table(texts))
    assert res.kept.column("lang").to_pylist() == ["en"] * 3
    reasons = dict(zip(res.rejected.column("text").to_pylist(), res.rejected.column("reason").to_pylist()))
    assert set(reasons.values()) == {"language_not_allowed"}
    assert len(reasons) == 3  # German, empty (und) and digits (und)
    strict = ready(Language({"min_score": 0.99})).process(doc_table(texts))
    assert "low_language_score" in strict.rejected.column("reason").to_pylist()
