"""The quality_rank stage: its phases by hand (shards, key partitions) on real text, against curation/ranks.py."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from curation.operators.context import ShardContext
from curation.operators.quality_rank import QualityRank
from curation.operators.quality_select import bin_of
from curation.ranks import percentile_within
from curation.text import token_prior as tp
from curation.text.scripts import dominant_scripts
from tests.filters.conftest import SAMPLE, doc_table, global_phases



@pytest.fixture()
def corpus(ccnet_sample, udhr_sample):
    # English pages and 40 UDHR translations in one multilingual domain, all labelled `und`, so that
    # only the script tells Latin from Cyrillic, Ge'ez, Adlam, ...; one page without words (no score)
    texts = ccnet_sample + [r["text"] for r in udhr_sample[:40]] + ["..."]
    domains = ["general"] * len(ccnet_sample) + ["multilingual"] * 41
    langs = ["en"] * len(ccnet_sample) + ["und"] * 41
    prior = tp.table_scores(pa.array(texts), domains).astype(np.float32)
    return doc_table(texts, domain=domains, lang=langs, token_prior=pa.array(prior, pa.float32()))


def test_phases_give_the_percentile_within_domain_lang_and_script(corpus):
    t = corpus
    prior = t.column("token_prior").to_numpy(zero_copy_only=False)
    scripts = dominant_scripts(t.column("text").to_pylist())
    groups = [f"{d}/{g}/{s}" for d, g, s in zip(t.column("domain").to_pylist(), t.column("lang").to_pylist(), scripts)]
    nbytes = np.asarray(pc.binary_length(t.column("text")), np.float64)
    exact = percentile_within(prior.astype(np.float64), groups, nbytes)
    # documents in one (group, bin) share a midpoint: the byte-weighted mean of their exact percentiles
    cell = np.array([f"{g}/{b}" for g, b in zip(groups, bin_of(prior))])
    want = exact.copy()
    for c in set(cell[:-1]):
        m = cell == c
        want[m] = np.average(exact[m], weights=nbytes[m])
    op = QualityRank({})
    assert op.requires == ("token_prior", "domain", "lang") and op.provides == ("quality",)
    for shards, parts in (([t], 1), ([t.slice(0, 9), t.slice(9, 20), t.slice(29)], 3)):
        kept = pa.concat_tables(global_phases(op, shards, parts))
        assert kept.num_rows == t.num_rows  # nothing rejected: the stage ranks
        q = kept.column("quality").to_numpy()
        assert q[-1] == 0.0  # no words, no score
        np.testing.assert_allclose(q[:-1], want[:-1], rtol=1e-6)
        assert np.mean(q[:-1] == exact[:-1].astype(np.float32)) > 0.9  # few documents share a bin
    # the scripts with one translation get the middle, whatever their prior
    one = [i for i, s in enumerate(scripts[:-1]) if scripts.count(s) == 1 and groups[i].startswith("multilingual")]
    assert len(one) >= 3 and np.all(q[one] == 0.5)


def test_documents_weight_and_a_missing_group_column(corpus):
    q = pa.concat_tables(global_phases(QualityRank({"weight": "documents", "within": ["domain"]}), [corpus], 2))
    got = q.column("quality").to_numpy()[:-1]
    gen = np.array(corpus.column("domain").to_pylist()[:-1]) == "general"
    n = int(gen.sum())
    np.testing.assert_allclose(np.sort(got[gen]), (np.arange(n) + 0.5) / n, rtol=1e-6)
    with pytest.raises(ValueError, match="no column 'topic' to rank within"):
        QualityRank({"within": ["domain", "topic"]}).collect(corpus, ShardContext())


def test_token_prior_then_quality_rank_in_the_engine(ray_local, tmp_path):
    cfg = parse_pipeline({
        "name": "rank", "input": {"batch_docs": 20, "shard_max_bytes": 65536},
        "stages": [{"op": "language"}, {"op": "token_prior", "group_by": "lang"},
                   {"op": "quality_rank", "within": ["lang", "script"]}],
    })
    inputs = [str(SAMPLE / "text" / "udhr_60.jsonl.gz"), str(SAMPLE / "text" / "ccnet_cc_en_head-0091.jsonl.gz")]
    out = tmp_path / "run"
    run_pipeline(cfg, inputs, str(out), RunOptions(workers=2, progress=False))
    got = pq.read_table(next(out.glob("*quality_rank*")), columns=["text", "lang", "token_prior", "quality"])
    assert got.num_rows == 70
    ref = doc_table(got.column("text").to_pylist(), lang=got.column("lang").to_pylist(),
                    token_prior=got.column("token_prior"))
    want = pa.concat_tables(global_phases(QualityRank({"within": ["lang", "script"]}), [ref], 1)).column("quality")
    np.testing.assert_array_equal(got.column("quality").to_numpy(), want.to_numpy())
    assert len(set(got.column("lang").to_pylist())) > 5  # und and several languages ranked apart


def test_pipeline_place_is_checked():
    # in pipelines/llama3.yaml after token_prior and before quality_select it is accepted; without
    # token_prior before it, refused (it ranks that column)
    import yaml

    cfg = yaml.safe_load((SAMPLE.parent / "pipelines" / "llama3.yaml").read_text())
    stages = [s for s in cfg["stages"] if s["op"] not in ("token_prior", "quality_rank")]  # as if not there
    at = [s["op"] for s in stages].index("quality_select")
    good = dict(cfg, stages=stages[:at] + [{"op": "token_prior"}, {"op": "quality_rank"}] + stages[at:])
    assert [s.op for s in parse_pipeline(good).stages][at:at + 3] == ["token_prior", "quality_rank", "quality_select"]
    bad = dict(cfg, stages=stages[:at] + [{"op": "quality_rank"}] + stages[at:])
    with pytest.raises(Exception, match="requires column 'token_prior'"):
        parse_pipeline(bad)


def test_llama3_selects_by_the_rank_that_passed():
    # pipelines/llama3.yaml: quality_select and the mix's tilt act on quality_rank's `quality` (the score
    # that passed the selection test, docs/models.md), not on the fastText/RoBERTa one that did not
    import yaml

    stages = yaml.safe_load((SAMPLE.parent / "pipelines" / "llama3.yaml").read_text())["stages"]
    ops = [s["op"] for s in stages]
    at = ops.index("quality")
    assert ops[at:at + 5] == ["quality", "token_prior", "quality_rank", "quality_select", "mix"]
    rank, select, mix = stages[at + 2], stages[at + 3], stages[at + 4]
    assert rank.get("column", "token_prior") == "token_prior" and rank.get("output", "quality") == "quality"
    assert select["column"] == "quality" and select["keep_fraction"]["general"] < 1.0
    assert mix["quality_preference"] > 0
