"""What the progress bars print (curation/engine/progress.py, on tqdm): off a terminal one line per
update and the closing line once; partitions called partitions; rounded rates; no "0 docs/s"; an
overall line with stages done of total each time a stage ends; on a terminal tqdm's redrawn bar."""

from __future__ import annotations

import io
import re

from curation.engine.progress import StageProgress, round3, start_run, unit_of


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_update_is_one_line_and_the_last_is_not_repeated():
    out = io.StringIO()
    p = StageProgress("read+extract", 3, stream=out, log_every_s=0)
    for _ in range(3):
        p.advance(1, docs=100)
    p.close()
    p.close()  # the runner may close a step twice; it prints once
    lines = out.getvalue().splitlines()
    assert [re.search(r"(\d)/3 shards", x)[1] for x in lines] == ["1", "2", "3"]
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("read+extract           [########................] 1/3 shards, ")
    assert "docs/s" in lines[-1] and "eta" not in lines[-1]


def test_partitions_are_partitions_and_a_step_without_documents_shows_no_docs_rate():
    assert unit_of("minhash_dedup:combine", 8) == "partitions"
    assert unit_of("minhash_dedup:round 2", 1) == "partition"
    assert unit_of("minhash_dedup:collect", 1) == "shard" and unit_of("read+extract", 4) == "shards"
    out = io.StringIO()
    p = StageProgress("url_dedup:combine", 4, stream=out, log_every_s=0)
    p.advance(4)
    p.close()
    line = out.getvalue().splitlines()[-1]
    assert "4/4 partitions" in line and "partitions/s" in line and "docs/s" not in line and "shards" not in line


def test_rates_are_rounded_to_three_figures():
    assert round3(12236.4) == "12,200"
    assert round3(0.43799999356269836) == "0.438"
    assert round3(4.567) == "4.57" and round3(139.0) == "139" and round3(0) == "0"


def test_overall_line_counts_stages_and_gives_an_eta():
    out = io.StringIO()
    start_run(3, stream=out)
    for label, total in (("read+extract", 2), ("minhash_dedup:collect", 2), ("minhash_dedup:combine", 4),
                         ("minhash_dedup:apply", 2)):
        p = StageProgress(label, total, stream=out, log_every_s=0)
        p.advance(total)
        p.close()
    overall = [x for x in out.getvalue().splitlines() if x.startswith("overall")]
    assert len(overall) == 2  # collect and combine end no stage; apply ends minhash_dedup
    assert "1/3 stages" in overall[0] and "elapsed" in overall[0] and "eta" in overall[0]
    assert "2/3 stages" in overall[1]
    p = StageProgress("mix", 1, 1, stream=out)  # a resumed stage with nothing to do still counts
    p.close()
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("overall") and "3/3 stages" in last and "eta" not in last
    after = io.StringIO()
    q = StageProgress("tokenize", 1, stream=after)  # the run is over: no overall line any more
    q.advance(1)
    q.close()
    assert not any(x.startswith("overall") for x in after.getvalue().splitlines())


def test_on_a_terminal_tqdm_redraws_one_line():
    out = _Tty()
    p = StageProgress("read+extract", 2, stream=out)
    p.advance(1, docs=5)
    p.advance(1, docs=5)
    p.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and "\r" in text  # redrawn in place, left as one line
    assert text.rstrip("\n").rsplit("\r", 1)[-1].startswith("read+extract")
    assert "2/2 shards" in text.rsplit("\r", 1)[-1]
