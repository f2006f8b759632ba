"""``--input RUN@STAGE``: a finished run's stage output as the input of a new run (mix + tokenize
only, with a new target), its columns counted as provided, lineage in run.json; and the reader
options (text/id/url columns, metadata carried through) of the first run, on a real Ray."""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import pytest

from curation.config import ConfigError, parse_pipeline
from curation.engine.runner import RunOptions, run_pipeline
from curation.run import manifest, record
from curation.run.inputs import StageInputError, provided_columns
from curation.run.layout import RunLayout
from curation.status import run_status

DOMAINS = ("general", "code", "math")


@pytest.fixture(scope="module")
def source_run(sample_dir, tmp_path_factory, ray_local):
    """A run over a JSONL of real texts whose text is in `content`, id in `doc_id`, url in `link`,
    with `domain` and `license` carried through as metadata; one stage (language)."""
    d = tmp_path_factory.mktemp("src")
    texts = [json.loads(line)["text"] for line in gzip.open(sample_dir / "text" / "ccnet_cc_en_head-0091.jsonl.gz", "rt")][:24]
    with open(d / "docs.jsonl", "w") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"doc_id": f"d{i}", "content": t, "link": f"https://ex.org/{i}",
                                "domain": DOMAINS[i % 3], "license": "cc-by"}) + "\n")
    cfg = parse_pipeline({"name": "src", "input": {"reader": {
        "text_column": "content", "id_column": "doc_id", "url_column": "link",
        "metadata_columns": ["domain", "license"]}}, "stages": [{"op": "language"}]})
    out = d / "run"
    run_pipeline(cfg, [str(d / "docs.jsonl")], str(out), RunOptions(workers=2, progress=False))
    return out, texts


def test_reader_options_read_named_columns_and_carry_metadata(source_run):
    out, texts = source_run
    t = pq.read_table(next((out / "01-language").glob("part-*.parquet")))
    assert t.num_rows == len(texts)
    assert sorted(t.column("text").to_pylist()) == sorted(texts)
    assert set(t.column("url").to_pylist()) == {f"https://ex.org/{i}" for i in range(len(texts))}
    assert set(t.column("license").to_pylist()) == {"cc-by"}
    assert {"domain", "lang"} <= set(t.column_names)
    assert run_status(RunLayout(str(out)))["stages"]["read"]["rejected"] == 0


def test_mix_and_tokenize_rerun_from_run_at_stage(source_run, tmp_path):
    out, texts = source_run
    spec = f"{out}@language"
    assert {"domain", "lang", "license"} <= set(provided_columns([spec]))
    stages = [{"op": "mix", "target": {"general": 0.5, "code": 0.3, "math": 0.2}}, {"op": "tokenize"}]
    with pytest.raises(ConfigError, match="requires column 'domain'"):
        parse_pipeline({"stages": stages})  # without the run's columns: refused before any work
    cfg = parse_pipeline({"name": "remix", "stages": stages}, provided=provided_columns([spec]))
    out2 = tmp_path / "remix"
    run_pipeline(cfg, [spec], str(out2), RunOptions(workers=2, progress=False))
    layout = RunLayout(str(out2))
    st = run_status(layout)
    assert st["stages"]["read"]["kept"] == len(texts)  # every document the stage kept, none lost
    src_ids = set(pq.read_table(next((out / "01-language").glob("part-*.parquet"))).column("id").to_pylist())
    pool = pq.read_table(next(out2.glob("*-mix")))
    assert set(pool.column("id").to_pylist()) <= src_ids  # ids kept as they were
    assert st["stages"]["mix"]["kept"] + st["stages"]["mix"]["rejected"] == len(texts)
    assert {"lang", "license"} <= set(pool.column_names)  # the run's columns travel on
    m = manifest.read(layout)
    assert set(m["achieved_mix"]) <= set(DOMAINS)
    assert (out2 / "tokens").is_dir()
    lin = record.read(layout)["lineage"]
    assert lin[0]["run"] == str(out) and lin[0]["stage"] == "language" and len(lin[0]["run_id"]) == 16


def test_bad_run_at_stage_is_a_clear_error(source_run):
    out, _ = source_run
    with pytest.raises(StageInputError, match="no stage 'quality'.*language"):
        provided_columns([f"{out}@quality"])
    with pytest.raises(StageInputError, match="is not a run folder"):
        provided_columns([f"{out}/nothing@language"])


def test_run_at_stage_on_s3(source_run, s3_server, upload, tmp_path):
    """The source run on an S3-protocol server (moto): its stage output is read through pyarrow.fs
    and the re-run keeps every document, with lineage naming the s3:// run."""
    out, texts = source_run
    src = f"s3://{s3_server['bucket']}/stage-input/src"
    upload(out, src)
    spec = f"{src}@language"
    cfg = parse_pipeline({"name": "from-s3", "stages": [{"op": "url_dedup"}]}, provided=provided_columns([spec]))
    out2 = f"s3://{s3_server['bucket']}/stage-input/again"
    layout = run_pipeline(cfg, [spec], out2, RunOptions(workers=2, progress=False))
    st = run_status(layout)
    assert st["stages"]["read"]["kept"] == len(texts) and st["stages"]["read"]["rejected"] == 0
    assert record.read(layout)["lineage"][0]["run"] == src


def test_validate_and_the_remix_pipeline_accept_run_at_stage(source_run):
    """`curate validate pipelines/remix.yaml --input RUN@STAGE`: planned as curate run plans it, its
    `mix` accepted because the run's output has `domain`; over plain files it is refused."""
    import subprocess
    import sys
    from pathlib import Path

    out, _ = source_run
    curate = str(Path(sys.executable).parent / "curate")
    remix = str(Path(__file__).resolve().parents[2] / "pipelines" / "remix.yaml")
    r = subprocess.run([curate, "validate", remix, "--input", f"{out}@language", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["shards"] >= 1 and plan["inputs"]["files"] == len(list((out / "01-language").glob("part-*.parquet")))
    bad = subprocess.run([curate, "validate", remix, "--input", str(out / "01-language")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "requires column 'domain'" in bad.stderr
