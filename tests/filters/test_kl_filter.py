import random

import numpy as np
import pyarrow as pa

from curation.operators.context import ShardContext
from curation.operators.kl_filter import KlFilter
from tests.filters.conftest import doc_table


def _random_page(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(n))


def test_random_tokens_flagged_prose_kept(wikitext_articles, ccnet_sample):
    prose = wikitext_articles + ccnet_sample
    t = doc_table(prose + [_random_page(1), _random_page(2)])
    op = KlFilter()
    rows = op.collect(t, ShardContext())
    assert rows.column("key").type == pa.uint64()
    # two key partitions, each combined alone; apply sees their concatenation (broadcast)
    keys = rows.column("key").to_numpy()
    parts = [rows.filter(pa.array(keys % 2 == i)) for i in range(2)]
    decisions = pa.concat_tables([op.combine(p) for p in parts])
    assert "_shard" not in decisions.column_names
    res = op.apply(t, decisions, ShardContext())
    assert res.rejected.column("text").to_pylist() == [_random_page(1), _random_page(2)]
    assert set(res.rejected.column("reason").to_pylist()) == {"kl_divergence"}
    kl = res.kept.column("kl_div").to_numpy()
    assert res.kept.schema.field("kl_div").type == pa.float32()
    assert np.median(kl) < 3.0
    assert res.rejected.column("kl_div").to_numpy().min() > kl.max()
