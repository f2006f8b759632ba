"""The filter stages through the real engine on Ray, and their columns queryable in the output."""

import duckdb

from curation.config import parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from tests.filters.conftest import SAMPLE


def test_filters_in_pipeline(ray_local, tmp_path):
    cfg = parse_pipeline({
        "name": "filters",
        "input": {"batch_docs": 50},
        "stages": [{"op": "url_filter"}, {"op": "language"}, {"op": "pii"},
                   {"op": "heuristics", "c4": False, "fineweb": False, "gopher_quality": False},
                   {"op": "kl_filter", "max_kl": 5.0}],
    })
    inputs = [str(SAMPLE / "text" / "udhr_60.jsonl.gz"), str(SAMPLE / "text" / "ccnet_cc_en_head-0091.jsonl.gz")]
    out = tmp_path / "run"
    run_pipeline(cfg, inputs, str(out), RunOptions(workers=2, progress=False))
    kept = list(out.glob("*kl_filter*/*.parquet"))
    assert kept, sorted(p.name for p in out.iterdir())
    con = duckdb.connect()
    glob = str(kept[0].parent / "*.parquet")
    n, langs, kl = con.execute(
        f"select count(*), count(distinct lang), max(kl_div) from read_parquet('{glob}')").fetchone()
    assert n >= 60 and langs >= 20 and kl > 0
    cols = {r[0] for r in con.execute(f"describe select * from read_parquet('{glob}')").fetchall()}
    assert {"lang", "lang_score", "pii_emails", "dup_5gram_frac", "dirty_words", "kl_div"} <= cols
