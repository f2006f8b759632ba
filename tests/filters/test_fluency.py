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
