import pyarrow as pa

from curation.text.words import split_words, split_words_column


def test_cjk_and_thai_are_not_one_word():
    zh = "人人生而自由，在尊严和权利上一律平等。"
    words = split_words(zh)
    assert len(words) == 17  # one word per Han character, punctuation dropped
    ja = "すべての人間は、生まれながらにして自由であり"
    assert len(split_words(ja)) == len([c for c in ja if c != "、"])
    th = "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ"
    assert 4 <= len(split_words(th)) < len(th) / 2  # syllable-sized pieces, neither 1 nor per-character
    assert split_words("Hello, World! It's 2024.") == ["hello", "world", "it", "s", "2024"]


def test_column_split_matches_scalar(udhr_sample):
    texts = [r["text"] for r in udhr_sample] + [None, "", "  ...  "]
    words, offsets = split_words_column(pa.array(texts, pa.large_string()))
    assert len(offsets) == len(texts) + 1
    for i, t in enumerate(texts):
        assert words[offsets[i]:offsets[i + 1]].to_pylist() == split_words(t)
