"""Dominant scripts (curation/text/scripts.py) of real UDHR translations from the bundled sample."""

from __future__ import annotations

from curation.text.scripts import NONE, dominant_scripts


def test_udhr_translations_get_their_scripts(udhr_sample):
    by_id = {r["id"]: r["text"] for r in udhr_sample}
    ids = ["udhr-hau_3", "udhr-bul", "udhr-bos_cyrl", "udhr-jpn", "udhr-kat", "udhr-amh", "udhr-fuf_adlm",
           "udhr-pan", "udhr-lao", "udhr-ojb"]
    got = dict(zip(ids, dominant_scripts([by_id[i] for i in ids])))
    assert got == {"udhr-hau_3": "LATIN", "udhr-bul": "CYRILLIC", "udhr-bos_cyrl": "CYRILLIC",
                   "udhr-jpn": "CJK", "udhr-kat": "GEORGIAN", "udhr-amh": "ETHIOPIC", "udhr-fuf_adlm": "ADLAM",
                   "udhr-pan": "GURMUKHI", "udhr-lao": "LAO", "udhr-ojb": "CANADIAN"}


def test_most_letters_decide_and_no_letters_is_none():
    # Japanese mixes kana and kanji (one script); a Latin word in Cyrillic text does not decide it;
    # digits and punctuation are not letters
    got = dominant_scripts(["これは日本語の文章です。", "Статья 1 (Article) Все люди рождаются свободными",
                            "12 + 30 = 42 !", "", None])
    assert got == ["CJK", "CYRILLIC", NONE, NONE, NONE]
