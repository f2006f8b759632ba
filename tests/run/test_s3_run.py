"""Runs on a real S3-protocol server (moto_server on loopback): s3 -> s3 gives the same documents
(and token shards) as a local run, a crashed run resumes to the same bytes with 1 worker as 2
workers give, status, query and report read the remote run, and the trainer's token reader reads
the same batches from the s3 run as from the local one."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import parse_pipeline
from curation.engine.runner import RunError, RunOptions, run_pipeline
from curation.io import fs as fsx
from curation.run import manifest
from curation.run.layout import RunLayout
from curation.run.views import sources


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> str:
    from curation.classifiers import models_dir as md

    root = tmp_path_factory.mktemp("tok")
    md.train_one(root, "domain")  # the mix requires a domain column (declared; checked when the pipeline is read)
    return md.train_tokenizer(root, vocab_size=512)["tokenizer"]


def pipeline(tokenizer: str):
    """Three WARC shards through extraction, URL dedup (a global stage), domain labels, the mix (per-shard
    mix/ and anneal/ files written by the workers, manifest merged on the driver) and tokenize
    (token files and index parts written by the workers, the manifest's tokens section)."""
    return parse_pipeline({
        "name": "s3-test",
        "input": {"shard_max_bytes": 150_000, "batch_docs": 50},
        "stages": [{"op": "extract", "engine": "resiliparse", "min_chars": 200},
                   {"op": "url_dedup"},
                   {"op": "domain", "models": str(Path(tokenizer).parent), "auto_train": False},
                   {"op": "mix", "tokenizer": tokenizer, "target": {"general": 1.0}},
                   {"op": "tokenize", "tokenizer": tokenizer}],
    })


def tables(out: str) -> dict[str, object]:
    """Every data table of a run by relative path, without columns naming where inputs were read
    (``source``, ``detail``: a local path or an s3:// URI); stats hold timings, so they go."""
    layout = RunLayout(out)
    found = sources(layout)
    res = {}
    for folder, files in found.items():
        if folder == "stats":
            continue
        for f in files:
            t = pq.read_table(f, filesystem=layout.fs)
            res[f[len(layout.root) + 1:]] = t.drop_columns([c for c in ("source", "detail") if c in t.column_names])
    return res


def file_bytes(out: str) -> dict[str, bytes]:
    layout = RunLayout(out)
    return {f[len(layout.root) + 1:]: fsx.read_bytes(layout.fs, f)
            for folder, files in sources(layout).items() if folder != "stats" for f in files}


@pytest.fixture(scope="module")
def remote(s3_server, upload, sample_dir, ray_local, tokenizer, tmp_path_factory):
    """The input in S3, one local run of it from local disk, one s3 -> s3 run (2 workers)."""
    bucket = s3_server["bucket"]
    upload(sample_dir / "warc", f"s3://{bucket}/sample/warc")
    cfg = pipeline(tokenizer)
    local = str(tmp_path_factory.mktemp("local") / "run")
    run_pipeline(cfg, [str(sample_dir / "warc")], local, RunOptions(workers=2, progress=False))
    out = f"s3://{bucket}/runs/two"
    run_pipeline(cfg, [f"s3://{bucket}/sample/warc/"], out, RunOptions(workers=2, progress=False))
    return {"bucket": bucket, "local": local, "s3": out, "cfg": cfg}


def test_s3_run_gives_the_local_documents(remote):
    local, s3 = tables(remote["local"]), tables(remote["s3"])
    assert set(local) == set(s3)
    assert any(k.startswith("mix/") for k in s3) and any(k.startswith("anneal/") for k in s3)
    for k in local:
        assert local[k].equals(s3[k]), k
    ml, ms = manifest.read(RunLayout(remote["local"])), manifest.read(RunLayout(remote["s3"]))
    assert ms["source_run"] == ml["source_run"] == "."  # relocatable: the run folder itself
    for key in ("mix", "anneal", "achieved_mix", "topic_tokens", "available"):
        assert ml[key] == ms[key], key
    # nothing but committed files is left in the bucket: no temporaries, no work area, no lock
    layout = RunLayout(remote["s3"])
    names = [i.path for i in fsx.files(layout.fs, layout.root, recursive=True)]
    assert not [n for n in names if "/.tmp-" in n or "/_work/" in n or n.endswith("run.lock")]


def test_status_query_report_on_s3(remote, capsys):
    from curation.cli import main

    assert main(["status", remote["s3"], "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["run"] == remote["s3"] and st["progress"]["state"] == "finished"
    order = ["read", "extract", "url_dedup", "mix"]
    for prev, name in zip(order, order[1:]):
        s = st["stages"][name]
        assert s["in"] == s["kept"] + s["rejected"] == st["stages"][prev]["kept"]
        assert s["rejected"] == sum(s["reasons"].values())
    m = manifest.read(RunLayout(remote["s3"]))
    assert main(["query", remote["s3"], "SELECT count(*) AS n FROM mix", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == sum(m["mix"]["documents"].values())
    assert main(["report", remote["s3"]]) == 0
    assert capsys.readouterr().out.strip() == remote["s3"] + "/report.html"
    layout = RunLayout(remote["s3"])
    assert b"<svg" in fsx.read_bytes(layout.fs, layout.report())


def test_trainer_manifest_reads_s3(remote):
    from curation.run.manifest import Manifest

    m = Manifest(remote["s3"])
    files = m.files("mix")
    assert files and all(str(f).startswith("s3://") for f in files)
    assert next(m.iter_texts("mix"))
    from curation.train.data import DocReader

    assert len(DocReader(files, m.text_column).read(3)) == 3  # the trainer's reader opens s3:// URIs


def test_trainer_reads_the_same_token_batches_from_s3(remote):
    """The tokenize stage on S3 writes the local run's token files and section; the trainer's token
    reader (ranged reads on S3, memory maps locally) gives the same batches, per data-parallel rank."""
    from curation.run.manifest import Manifest
    from curation.run.tokens import TokenLayout
    from curation.train.data import TokenStream, TrainLoader

    local, s3 = RunLayout(remote["local"]), RunLayout(remote["s3"])
    sec = manifest.read(s3)["tokens"]
    assert sec == manifest.read(local)["tokens"] and sec["mix"]["index"]
    tl, ts = TokenLayout(local), TokenLayout(s3)
    for f in sec["mix"]["files"] + sec["anneal"]["files"] + sec["mix"]["index"]:
        assert fsx.read_bytes(ts.fs, ts.path(f["path"])) == fsx.read_bytes(tl.fs, tl.path(f["path"])), f["path"]
    for rank in (0, 1):
        a = TrainLoader(Manifest(remote["local"]), None, 32, 4, dp_rank=rank, dp_size=2, source="tokens")
        b = TrainLoader(Manifest(remote["s3"]), None, 32, 4, dp_rank=rank, dp_size=2, source="tokens")
        assert isinstance(b.streams["mix"], TokenStream)
        for phase in ("mix", "mix", "mix"):
            for x, y in zip(a.next_batches(phase), b.next_batches(phase)):
                assert x.inputs.equal(y.inputs) and x.labels.equal(y.labels) and x.doc_ids.equal(y.doc_ids)
        assert not any(m._map is not None for m in b.streams["mix"]._maps.values())  # ranged reads, no local copy
        assert all(m._map is not None for m in a.streams["mix"]._maps.values())


def test_evaluate_sources_read_an_s3_run(remote):
    """``curate evaluate``'s arms from an s3:// run: RUN@STAGE and RUN (its mix) hold the local run's texts."""
    from curation.evaluation import sources

    def texts(spec: str):
        s = sources.resolve(spec)
        return s, sorted(t for p in s.parts for t in sources.read_part(p, s.text_column).column("text").to_pylist())

    for suffix in ("@extract", "@url_dedup", ""):
        src, got = texts(remote["s3"] + suffix)
        assert got and got == texts(remote["local"] + suffix)[1], suffix
        assert src.run.uri == remote["s3"] and all(p.uri.startswith("s3://") for p in src.parts)
    assert sources.resolve(remote["s3"]).kind == "mix"
    assert sources.mix_pool(remote["s3"]).stage == "domain"


def test_crash_then_resume_with_one_worker_gives_the_two_worker_bytes(remote):
    out = f"s3://{remote['bucket']}/runs/one"
    with pytest.raises(RunError, match="injected"):
        run_pipeline(remote["cfg"], [f"s3://{remote['bucket']}/sample/warc/"], out,
                     RunOptions(workers=1, progress=False, fault="crash:url_dedup:1"))
    from curation.status import run_status

    assert run_status(out)["progress"]["state"] == "stopped"
    layout = RunLayout(out)
    # a worker that died mid-write leaves a temporary in a finished stage folder: never read, then removed
    dead = layout.kept_dir("01-extract") + "/.tmp-deadbeef-part-00000.parquet"
    with layout.fs.open_output_stream(dead) as f:
        f.write(b"half a parquet file")
    assert run_status(out)["stages"]["extract"]["shards_done"] == 3
    run_pipeline(remote["cfg"], [f"s3://{remote['bucket']}/sample/warc/"], out, RunOptions(workers=1, progress=False))
    assert not fsx.exists(layout.fs, dead)
    assert file_bytes(out) == file_bytes(remote["s3"])
