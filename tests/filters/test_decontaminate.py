"""decontaminate on real text: news pages carrying a GSM8K test problem or a HumanEval solution are
removed with the set named, the same pages without them are kept, 12-word near misses are kept,
user files and mark mode work, the sample's math and code pass while the former sample files (GSM8K
test, HumanEval) are caught; and the stage through the engine on Ray with a user file."""

from __future__ import annotations

import gzip
import json
import os
import re

import pytest

from curation.operators.base import ready
from curation.dedup.text import normalize
from curation.config import ConfigError, parse_pipeline
from curation.operators.decontaminate import BUNDLED, BUNDLED_DIR, Decontaminate
from tests.filters.conftest import SAMPLE, doc_table, jsonl


@pytest.fixture(scope="module")
def op() -> Decontaminate:
    o = Decontaminate()
    o.setup()
    return o


@pytest.fixture(scope="module")
def news() -> list[str]:
    """Real news article bodies (the sample's Article Extraction Benchmark ground truth), 300+ words."""
    gt = json.loads((SAMPLE / "html" / "scrapinghub" / "ground-truth.json").read_text())
    return [gt[k]["articleBody"] for k in sorted(gt) if len(gt[k]["articleBody"].split()) >= 300][:4]


@pytest.fixture(scope="module")
def gsm8k_test() -> list[dict]:
    return jsonl(BUNDLED_DIR / BUNDLED["gsm8k_test"])


@pytest.fixture(scope="module")
def humaneval() -> list[dict]:
    return jsonl(BUNDLED_DIR / BUNDLED["humaneval"])


def _insert(page: str, passage: str) -> str:
    """``passage`` as a paragraph in the middle of ``page``."""
    paras = page.split("\n")
    mid = len(paras) // 2
    return "\n".join(paras[:mid] + [passage] + paras[mid:])


def test_pages_carrying_eval_items_are_removed_with_the_set_named(op, news, gsm8k_test, humaneval):
    g, h = gsm8k_test[17], humaneval[42]
    pages = [
        _insert(news[0], "Try this one with your kids:\n" + g["question"] + "\n" + g["answer"]),
        _insert(news[1], "Here is my solution:\n\n" + h["prompt"] + h["canonical_solution"]),
        # the worked answer alone, without its calculator annotations, as forums repost it
        _insert(news[2], re.sub(r"<<[^<>]*>>", "", g["answer"])),
        _insert(news[3], humaneval[0]["canonical_solution"]),  # a solution body alone (25 words)
    ]
    res = op.process(doc_table(pages + news))
    assert res.kept.num_rows == len(news) and res.rejected.num_rows == 4
    rej = res.rejected.to_pylist()
    assert set(res.rejected.column("reason").to_pylist()) == {"contaminated"}
    assert [r["contaminated_by"] for r in rej] == ["gsm8k_test", "humaneval", "gsm8k_test", "humaneval"]
    assert rej[0]["detail"].startswith("gsm8k_test: ") and rej[0]["detail"].endswith(" 13-grams")
    assert all(r["contaminated_ngrams"] >= 1 for r in rej)
    # the same pages without the passage: kept, untouched, no eval n-gram
    kept = res.kept.to_pylist()
    assert [r["text"] for r in kept] == news
    assert all(r["contaminated_ngrams"] == 0 and r["contaminated_by"] is None for r in kept)


def test_near_misses_of_12_shared_words_are_kept(op, news, gsm8k_test):
    """Every word of a test problem, in order, but a foreign word after every 12: no shared 13-gram."""
    g = gsm8k_test[5]
    words = normalize([g["question"] + "\n" + g["answer"]])[0].as_py().split()  # the stage's words
    broken = " ".join(w if (i + 1) % 12 else w + " indeed" for i, w in enumerate(words))
    twelve = " ".join(g["question"].split()[:12])  # plain words: one token each
    pages = [_insert(news[0], broken), _insert(news[1], "As the puzzle goes, " + twelve + " and so on.")]
    res = op.process(doc_table(pages))
    assert res.rejected.num_rows == 0
    assert res.kept.column("contaminated_ngrams").to_pylist() == [0, 0]
    # one more word makes a 13-gram
    thirteen = " ".join(g["question"].split()[:13])
    res = op.process(doc_table([_insert(news[1], "As the puzzle goes, " + thirteen + " and so on.")]))
    assert res.rejected.column("contaminated_ngrams").to_pylist() == [1]


def test_user_files_jsonl_and_txt(tmp_path, news, udhr_sample):
    """A user's eval set as .jsonl.gz (text_fields) and as .txt: the set is named by the file stem."""
    qa = tmp_path / "my_qa_test.jsonl.gz"
    passage = " ".join(news[2].split()[100:160])
    with gzip.open(qa, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"question": passage, "label": "B"}) + "\n")
    lines = tmp_path / "udhr_eval.txt"
    article = next(x for x in udhr_sample[0]["text"].split("\n") if len(x.split()) >= 30)  # one paragraph
    lines.write_text(article + "\n\n", encoding="utf-8")
    op = Decontaminate({"bundled": [], "files": [str(qa), str(lines)], "text_fields": ["question", "label"]})
    op.setup()
    assert op.set_names == ["my_qa_test", "udhr_eval"]
    res = op.process(doc_table([news[2], news[3], udhr_sample[0]["text"], udhr_sample[1]["text"]]))
    assert res.rejected.column("contaminated_by").to_pylist() == ["my_qa_test", "udhr_eval"]
    assert res.kept.column("text").to_pylist() == [news[3], udhr_sample[1]["text"]]


def test_mark_mode_keeps_and_marks(news, gsm8k_test):
    op = ready(Decontaminate({"mode": "mark", "bundled": ["gsm8k_test"]}))
    g = gsm8k_test[0]
    res = op.process(doc_table([_insert(news[0], g["question"] + "\n" + g["answer"]), news[1]]))
    assert res.rejected.num_rows == 0 and res.kept.num_rows == 2
    assert res.kept.column("contaminated_by").to_pylist() == ["gsm8k_test", None]
    n = res.kept.column("contaminated_ngrams").to_pylist()
    assert n[0] > 10 and n[1] == 0


def test_min_matches(news, gsm8k_test):
    thirteen = " ".join(gsm8k_test[3]["question"].split()[:13])
    page = _insert(news[0], thirteen)
    assert ready(Decontaminate({"min_matches": 2})).process(doc_table([page])).rejected.num_rows == 0
    assert ready(Decontaminate({"min_matches": 1})).process(doc_table([page])).rejected.num_rows == 1


def test_sample_math_and_code_pass_untouched(op, sample_dir):
    for name in ("gsm8k_train_300", "code_100", "ccnet_cc_en_head-0091", "udhr_60"):
        texts = [r["text"] for r in jsonl(sample_dir / "text" / f"{name}.jsonl.gz")]
        res = op.process(doc_table(texts))
        assert res.rejected.num_rows == 0, (name, res.rejected.column("detail").to_pylist()[:3])
        assert res.kept.column("text").to_pylist() == texts
        assert sum(res.kept.column("contaminated_ngrams").to_pylist()) == 0, name


def test_former_sample_files_are_caught(op, shared_data):
    """The sample's former math and code: the first 300 GSM8K test problems and the first 100
    HumanEval problems, as the old files held them, from ../shared."""
    gs = jsonl(shared_data / "domain_samples" / "math" / "gsm8k_test.jsonl.gz")[:300]
    he = jsonl(shared_data / "domain_samples" / "code" / "HumanEval.jsonl.gz")[:100]
    for texts, name in (([r["question"] + "\n" + r["answer"] for r in gs], "gsm8k_test"),
                        ([r["prompt"] + r["canonical_solution"] for r in he], "humaneval")):
        res = op.process(doc_table(texts))
        assert res.kept.num_rows == 0, name
        assert set(res.rejected.column("contaminated_by").to_pylist()) == {name}


def test_params_are_checked_before_any_work(tmp_path):
    for bad, word in (({"bundled": ["mmlu"]}, "unknown bundled"), ({"files": [str(tmp_path / "x.jsonl")]}, "not found"),
                      ({"files": ["eval.csv"]}, "must end with"), ({"min_matches": 0}, "min_matches")):
        with pytest.raises(ConfigError, match=word):
            parse_pipeline({"stages": [{"op": "decontaminate", **bad}]})
    clash = tmp_path / "humaneval.jsonl"
    clash.write_text("")
    with pytest.raises(ConfigError, match="named like a bundled set"):
        parse_pipeline({"stages": [{"op": "decontaminate", "files": [str(clash)]}]})
    f = tmp_path / "rel.txt"
    f.write_text("x\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cfg = parse_pipeline({"stages": [{"op": "decontaminate", "files": ["rel.txt"]}]})
    finally:
        os.chdir(cwd)
    assert cfg.stages[0].params["files"] == [str(f.resolve())]  # relative paths are made absolute


def test_in_the_engine_with_a_user_file(ray_local, tmp_path, news):
    """On Ray: rejected rows land in rejected/ with reason and detail; kept rows carry the columns."""
    import duckdb

    from curation.engine.runner import RunOptions, run_pipeline

    eval_file = tmp_path / "news_eval.txt"
    eval_file.write_text(" ".join(news[1].split()[50:90]) + "\n", encoding="utf-8")
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(news)))
    cfg = parse_pipeline({"name": "decontam", "input": {"batch_docs": 2},
                          "stages": [{"op": "decontaminate", "files": [str(eval_file)]}]})
    out = tmp_path / "run"
    run_pipeline(cfg, [str(docs)], str(out), RunOptions(workers=2, progress=False))
    con = duckdb.connect()
    rej = con.execute("select id, reason, detail, contaminated_by from read_parquet(?)",
                      [str(out / "rejected" / "decontaminate" / "*.parquet")]).fetchall()
    assert len(rej) == 1 and rej[0][1] == "contaminated" and rej[0][3] == "news_eval"
    assert rej[0][2].startswith("news_eval: ") and rej[0][2].endswith(" 13-grams")
    kept = list(out.glob("*decontaminate*/*.parquet"))
    n, marked = con.execute("select count(*), count(contaminated_by) from read_parquet(?)",
                            [[str(p) for p in kept]]).fetchone()
    assert (n, marked) == (len(news) - 1, 0)
