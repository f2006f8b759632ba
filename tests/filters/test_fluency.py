"""The fluency stage on real text from the repository and on junk made from that same text."""

import collections
import random
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from curation.operators.base import ready
from curation.operators.fluency import Fluency
from curation.operators.language import Language
from curation.text import fluency
from curation.text.words import split_words_column
from tests.filters.conftest import doc_table, jsonl

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "curation" / "data" / "classifiers"


def pipeline_fluency() -> Fluency:
    """The fluency stage as pipelines/llama3.yaml configures it."""
    stages = yaml.safe_load((ROOT / "pipelines" / "llama3.yaml").read_text())["stages"]
    (cfg,) = [s for s in stages if s["op"] == "fluency"]
    return Fluency({k: v for k, v in cfg.items() if k != "op"})


@pytest.fixture(scope="module")
def prose() -> list[str]:
    """Real English prose shipped with the repo: WikiText-2 articles and news bodies (hq rows)."""
    rows = [r for r in jsonl(BUNDLED / "quality.jsonl.gz") if r["label"] == "hq"]
    return [r["text"] for r in rows if len(r["text"].split()) >= 150][:120]


def labelled(texts: list[str]) -> pa.Table:
    """Texts with the language stage's columns and the domain the pipeline would give prose."""
    t = ready(Language()).process(doc_table(texts)).kept
    dom = ["general" if l == "en" else "undetermined" if l == "und" else "multilingual"
           for l in t.column("lang").to_pylist()]
    return t.append_column("domain", pa.array(dom))


def reasons(res) -> collections.Counter:
    return collections.Counter(res.rejected.column("reason").to_pylist())


def test_real_prose_and_udhr_pass(prose, udhr_sample):
    op = pipeline_fluency()
    res = op.process(labelled(prose))
    assert res.kept.num_rows >= 0.97 * len(prose), reasons(res)
    udhr = [r["text"] for r in udhr_sample]
    res = op.process(labelled(udhr))
    assert res.kept.num_rows >= 0.95 * len(udhr), reasons(res)
    for col in ("known_word_frac", "pair_excess", "pair_recurrence", "unique_word_frac", "mojibake_rate"):
        assert res.kept.schema.field(col).type == pa.float32()


def test_word_salad_is_real_text_shuffled(prose):
    """The purest word salad: a real article's own words in random order (same words, same
    frequencies, no syntax). The fluency stage rejects it; the article itself passes."""
    rng = random.Random(0)
    salad = []
    for t in prose[:60]:
        words = t.split()
        rng.shuffle(words)
        salad.append(" ".join(words))
    res = pipeline_fluency().process(labelled(salad))
    assert res.rejected.num_rows >= 0.85 * len(salad), reasons(res)  # measured: 53 of 60
    assert set(reasons(res)) <= {"word_salad", "incoherent"}


def test_markov_chain_text_is_incoherent(prose):
    """Order-1 word chains over the whole bundled prose: every word pair is real, the text wanders."""
    nxt = collections.defaultdict(list)
    for t in prose:
        w = t.split()
        for a, b in zip(w, w[1:]):
            nxt[a].append(b)
    rng = random.Random(1)
    keys = sorted(nxt)
    docs = []
    for _ in range(40):
        w = [rng.choice(keys)]
        while len(w) < rng.randint(200, 500):
            w.append(rng.choice(nxt[w[-1]]) if nxt[w[-1]] else rng.choice(keys))
        docs.append(" ".join(w))
    res = pipeline_fluency().process(labelled(docs))
    assert res.rejected.num_rows >= 0.6 * len(docs), reasons(res)


def test_random_tokens_unknown_words_and_mojibake(udhr_sample):
    rng = random.Random(2)
    letters = "abcdefghijklmnopqrstuvwxyz"
    rand = [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(300))
            for _ in range(20)]
    res = pipeline_fluency().process(labelled(rand))
    assert res.rejected.num_rows == len(rand)
    assert set(reasons(res)) <= {"random_tokens", "unknown_words"}
    # Latin-script UDHR translations with accented letters (Asturian, Irish, Hausa, ...) whose UTF-8
    # bytes were read as cp1252: mojibake; the originals pass
    def accented(t: str) -> bool:
        return (sum(c.isascii() for c in t) > 0.8 * len(t)
                and sum(c.isalpha() and not c.isascii() for c in t) > 0.02 * len(t))

    latin = [r["text"] for r in udhr_sample if accented(r["text"])]
    assert len(latin) >= 5
    broken = [t.encode("utf-8").decode("cp1252", errors="replace") for t in latin]
    res = pipeline_fluency().process(labelled(broken))
    assert reasons(res)["mojibake"] == len(broken)
    assert pipeline_fluency().process(labelled(latin)).rejected.num_rows == 0


def test_code_is_measured_not_judged():
    code = [r["text"] for r in jsonl(BUNDLED / "domain.jsonl.gz") if r["domain"] == "code"][:40]
    t = doc_table(code, domain=["code"] * len(code), lang=["en"] * len(code))
    res = pipeline_fluency().process(t)
    assert res.rejected.num_rows == 0 and res.kept.num_rows == len(code)
    assert not np.isnan(res.kept.column("pair_recurrence").to_numpy()).all()


def test_a_documents_values_do_not_depend_on_its_batch(prose):
    op = pipeline_fluency()
    batch = op.process(labelled(prose[:30])).kept
    alone = op.process(labelled(prose[7:8])).kept
    row = batch.filter(pa.compute.equal(batch.column("text"), prose[7]))
    for col in ("pair_excess", "pair_recurrence", "unique_word_frac", "known_word_frac"):
        assert row.column(col).to_pylist() == alone.column(col).to_pylist()


def test_known_words_are_looked_up_composed():
    text = "Mọi người sinh ra đều được tự do và bình đẳng về nhân phẩm và quyền lợi " * 3
    for form in ("NFC", "NFD"):
        w, off = split_words_column(pa.array([unicodedata.normalize(form, text)]))
        assert fluency.known_word_frac(w, off, ["vi"])[0] > 0.9


def test_pair_excess_separates_text_from_its_shuffle(prose):
    w, off = split_words_column(pa.array(prose[:40]))
    real = fluency.pair_excess(w, off)
    shuffled = []
    rng = random.Random(3)
    for t in prose[:40]:
        x = t.split()
        rng.shuffle(x)
        shuffled.append(" ".join(x))
    w, off = split_words_column(pa.array(shuffled))
    fake = fluency.pair_excess(w, off)
    assert np.nanmedian(real) > 2.0 > 1.3 > np.nanmedian(fake)


#: hand-written for this test (issue 23: a 300-word article on sourdough was rejected as incoherent),
#: and a short local-news item: real prose of the lengths where few words repeat
SOURDOUGH = """How to Bake Your First Loaf of Sourdough

Sourdough looks intimidating, but it asks for very little: flour, water, salt and patience. What it does not forgive is hurry. Plan your first loaf over a weekend, when you can check on the dough every hour or so without watching the clock.

Start with an active starter. Feed it the night before with equal weights of flour and water, and leave it somewhere warm. By morning it should have doubled, smell pleasantly sour and be full of bubbles. A spoonful dropped into a glass of water should float; if it sinks, give it another feeding and wait a few more hours.

In a large bowl, mix 500 grams of bread flour with 350 grams of lukewarm water until no dry patches remain. Cover the bowl and let it rest for forty minutes. This pause, which bakers call the autolyse, lets the flour absorb the water and makes the dough easier to work. Then add 100 grams of starter and 10 grams of salt, and squeeze them through the dough with wet hands.

Over the next three hours, stretch and fold the dough every half hour. Grab one edge, pull it up gently and fold it over the middle, then turn the bowl and repeat on each side. You will feel the dough change from a shaggy mass into something smooth and elastic.

When it has grown by about half, tip it onto a floured counter, shape it into a tight round and place it seam side up in a basket lined with a floured towel. Leave it in the fridge overnight. The cold slows the yeast and deepens the flavour.

The next morning, heat a heavy pot with its lid in the oven at 250 degrees. Turn the loaf out onto parchment, slash the top with a sharp blade and lower it into the pot. Bake covered for twenty minutes, then uncovered for another twenty five, until the crust is deep brown. Let it cool for an hour before you cut it, however hard that is."""
LIBRARY = """The town library on Mill Street will reopen on Monday after eight months of repairs, the council said on Thursday. Water from a burst pipe flooded the basement in March and ruined about four thousand books, most of them from the children's section. The council spent the summer replacing the floors and the heating, and volunteers helped to sort the books that could be saved.
Opening hours stay as they were: nine to six on weekdays and ten to four on Saturdays. The children's corner has moved upstairs for now, next to the reading room, and the reading group for young families will meet there on Wednesday mornings. Librarian Anna Kowalski said the new shelves were paid for by a local appeal that raised more than twelve thousand pounds in six weeks. "People brought cakes, ran races and emptied their piggy banks," she said. "We owe the whole town a thank you." The basement will be used for storage only."""


def test_short_hand_written_articles_are_kept():
    op = pipeline_fluency()
    res = op.process(labelled([SOURDOUGH, LIBRARY]))
    assert res.kept.num_rows == 2, res.rejected.select(["reason", "detail"]).to_pylist()
    assert not any(np.isnan(res.kept.column("content_recurrence").to_numpy()))  # measured on both


def test_incoherent_names_what_it_measured(prose):
    """Every rejection of the word-order rules says which values crossed which limits."""
    nxt = collections.defaultdict(list)
    for t in prose:
        w = t.split()
        for a, b in zip(w, w[1:]):
            nxt[a].append(b)
    rng = random.Random(3)
    keys = sorted(nxt)
    docs = []
    for _ in range(20):
        w = [rng.choice(keys)]
        while len(w) < 300:
            w.append(rng.choice(nxt[w[-1]]) if nxt[w[-1]] else rng.choice(keys))
        docs.append(" ".join(w))
    rej = pipeline_fluency().process(labelled(docs)).rejected.to_pylist()
    incoherent = [r for r in rej if r["reason"] == "incoherent"]
    assert incoherent
    for r in incoherent:
        assert "pair_recurrence" in r["detail"] and "content_recurrence" in r["detail"], r["detail"]


def test_incoherent_limits_follow_the_length(prose):
    """Issue 23: a short text has had less room to repeat its words, so the fixed limits put real
    articles' first 120-150 words in the ``incoherent`` box; the limits held to the same percentiles
    of real text at each length (``incoherent_by_words``) keep them, and equal the fixed ones from
    300 words on. Real text: the bundled prose cut to 120 and 150 words."""
    op = pipeline_fluency()
    p = op.params
    up, cr = op.incoherent_thresholds(np.array([100, 150, 200, 300, 900]))
    assert list(up[-2:]) == [p.incoherent_unique_prefix_frac] * 2 and list(cr[-2:]) == [p.max_content_recurrence] * 2
    assert (np.diff(up) <= 0).all() and (np.diff(cr) >= 0).all()  # shorter: a stricter box
    heads = [" ".join(t.split()[:n]) for n in (120, 150) for t in prose]
    table = labelled(heads)
    fixed = Fluency({**p.model_dump(), "incoherent_by_words": {}}).process(table)
    by_length = op.process(table)
    assert reasons(by_length)["incoherent"] <= 0.01 * len(heads), reasons(by_length)
    assert reasons(fixed)["incoherent"] > 2 * max(reasons(by_length)["incoherent"], 1), reasons(fixed)
    rej = by_length.rejected.to_pylist()
    assert all("limits at" in r["detail"] for r in rej if r["reason"] == "incoherent")


def test_word_salad_needs_pairs_expected_by_chance(prose):
    """pair_excess is a ratio of counts: not measured where the shuffles repeat fewer word pairs than
    ``min_expected_pairs`` (3 in the pipeline), so a short real text is not judged on noise."""
    w, off = split_words_column(pa.array([" ".join(t.split()[:60]) for t in prose[:20]]))
    assert np.isnan(fluency.pair_excess(w, off, min_expected=1000)).all()
    few = fluency.pair_excess(w, off, min_expected=pipeline_fluency().params.min_expected_pairs)
    assert np.isnan(few).any()


def test_latin_text_read_through_a_cyrillic_code_page_is_mojibake(udhr_sample):
    """ftfy's badness misses Latin text whose UTF-8 was read as cp1251 ("Гј" for "ü"): Latin letters
    next to Cyrillic ones inside words (``mixed_script_rate``) catch it; real Latin-script and
    Cyrillic UDHR translations measure 0."""
    latin = [r["text"] for r in udhr_sample
             if sum(c.isalpha() and not c.isascii() for c in r["text"]) > 0.02 * len(r["text"])
             and sum(c.isascii() for c in r["text"]) > 0.8 * len(r["text"])]
    broken = [t.encode("utf-8").decode("cp1251", errors="replace") for t in latin]
    broken = [b for b in broken if fluency.mixed_script_rate(pa.array([b]))[0] > 0]
    assert len(broken) >= 3
    res = pipeline_fluency().process(labelled(broken))
    assert reasons(res)["mojibake"] == len(broken), reasons(res)
    real = [r["text"] for r in udhr_sample]
    assert fluency.mixed_script_rate(pa.array(real, pa.large_string())).max() == 0


def test_han_text_of_no_named_language_is_looked_up_in_chinese_and_japanese(udhr_sample):
    """Random characters of the CJK block that the language stage cannot name (``und``) are unknown
    characters; the Japanese UDHR labelled ``und`` is made of known ones."""
    rng = random.Random(5)
    rand = ["".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(400)) for _ in range(5)]
    jpn = [r["text"] for r in udhr_sample if r["id"] == "udhr-jpn"]
    w, off = split_words_column(pa.array(rand + jpn))
    known = fluency.known_word_frac(w, off, ["und"] * len(rand + jpn))
    assert (known[:-1] < 0.25).all() and known[-1] > 0.9
    t = doc_table(rand, lang=["und"] * len(rand), domain=["undetermined"] * len(rand))
    res = pipeline_fluency().process(t)
    assert res.rejected.num_rows == len(rand) and set(reasons(res)) <= {"random_tokens", "unknown_words"}
    assert (res.rejected.column("known_word_frac").to_numpy() < 0.25).all()  # measured, not NaN
