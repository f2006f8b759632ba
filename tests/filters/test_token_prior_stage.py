"""The token_prior stage: its phases by hand (shards, key partitions) and through the real engine."""

from __future__ import annotations

import duckdb
import pytest
import yaml
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from curation.operators.token_prior import TokenPrior
from curation.text import token_prior as tp
from tests.filters.conftest import SAMPLE, doc_table, global_phases

ROOT = SAMPLE.parent



def test_phases_give_the_whole_corpus_score_whatever_the_sharding(ccnet_sample, udhr_sample):
    texts = ccnet_sample + [r["text"] for r in udhr_sample[:20]]
    domains = ["general"] * len(ccnet_sample) + ["multilingual"] * 20
    t = doc_table(texts, domain=domains)
    want = tp.table_scores(pa.array(texts), domains).astype(np.float32)
    op = TokenPrior({"write_quality": True})
    assert op.requires == ("domain",) and op.provides == ("token_prior", "quality")
    for shards, parts in (([t], 1), ([t.slice(0, 7), t.slice(7, 11), t.slice(18)], 3)):
        kept = pa.concat_tables(global_phases(op, shards, parts))
        assert kept.num_rows == t.num_rows  # nothing rejected: the stage ranks
        np.testing.assert_array_equal(kept.column("token_prior").to_numpy(), want)
        q = kept.column("quality").to_numpy()
        assert ((q >= 0) & (q <= 1)).all()
        for d in ("general", "multilingual"):  # the same order as the prior within a domain
            m = np.array(domains) == d
            assert (np.argsort(q[m], kind="stable") == np.argsort(want[m], kind="stable")).all()


def test_stage_in_the_engine(ray_local, tmp_path):
    cfg = parse_pipeline({
        "name": "prior", "input": {"batch_docs": 20, "shard_max_bytes": 65536},
        "stages": [{"op": "language"}, {"op": "token_prior", "group_by": "lang"}],
    })
    inputs = [str(SAMPLE / "text" / "udhr_60.jsonl.gz"), str(SAMPLE / "text" / "ccnet_cc_en_head-0091.jsonl.gz")]
    out = tmp_path / "run"
    run_pipeline(cfg, inputs, str(out), RunOptions(workers=2, progress=False))
    glob = str(next(out.glob("*token_prior*")) / "*.parquet")
    con = duckdb.connect()
    shards = con.execute("select count(distinct filename) from read_parquet(?, filename=true)", [glob]).fetchone()[0]
    got = pq.read_table(next(out.glob("*token_prior*")), columns=["text", "lang", "token_prior"])
    assert shards > 1 and got.num_rows == 70
    want = tp.table_scores(got.column("text"), got.column("lang").to_pylist()).astype(np.float32)
    np.testing.assert_array_equal(got.column("token_prior").to_numpy(), want)



def test_pipeline_place_is_checked():
    # in pipelines/llama3.yaml right before quality_select it is accepted; before `domain`, refused
    # (llama3.yaml holds token_prior and quality_rank there already: taken out first)
    cfg = yaml.safe_load((ROOT / "pipelines" / "llama3.yaml").read_text())
    stages = [s for s in cfg["stages"] if s["op"] not in ("token_prior", "quality_rank")]
    ops = [s["op"] for s in stages]
    good = dict(cfg, stages=stages[:ops.index("quality_select")] + [{"op": "token_prior", "write_quality": True}]
                + stages[ops.index("quality_select"):])
    assert "token_prior" in [s.op for s in parse_pipeline(good).stages]
    bad = dict(cfg, stages=stages[:1] + [{"op": "token_prior"}] + stages[1:])
    with pytest.raises(Exception, match="requires column 'domain'"):
        parse_pipeline(bad)
