"""The extract stage through ``curate run``, beside bare ``trafilatura.extract()``: documents per
CPU-second with the fixed cost of starting a run taken out, and the accuracy of the run's own output.

Pages: those of bench/extract.py's split (``--split test``, the held-out third, by default): the
ScrapingHub AEB pages and the trafilatura-eval pages of ../shared/data/html_extraction, loaded and
split by bench/extract.py's own functions. They are written as Parquet inputs (``id``, ``url``,
``html`` and the bench's ``page`` key and ``copy`` number) at each ``--scales`` size: size k holds k
copies of every page, the same HTML under a distinct id and url (``?copy=j``), so no stage could
take one for another (the pipeline has no dedup stage anyway).

For each engine and size, ``curate run bench/pipelines/extract_only.yaml --set extract.engine=E``
(pipelines/llama3.yaml's extract stage and input options, a local Ray started by the command,
``--workers 2``) runs as a child of this bench, and the CPU seconds of its whole process tree (the
driver and Ray's workers) are taken with bench/vs_datatrove.py's sampler (psutil; the bench is the
child subreaper, so Ray's orphaned processes still count). Over the sizes, a least-squares line
``cpu_s = fixed + per_doc * docs`` is fitted (the cost model, printed with each size's residual);
``1 / per_doc`` is the marginal rate: documents per CPU-second with the fixed cost of a run (Ray's
start-up, imports, model loads) taken out. With three or more sizes the residuals check the model.

In the same run, bare ``trafilatura.extract()`` (bench/extract.py's call) extracts the same pages
in this process (process CPU time; fresh strings per round as bench/extract.py does), one round
before each engine's runs and one after the last: its rate is the best round (the figure least
favourable to the runs), the median is printed beside it. The ratio printed is each engine's
marginal rate over bare trafilatura's.

Accuracy is scored on the runs' OUTPUT: the extract stage's Parquet files (read through
``curation.run.stage_output``, the one definition of what a stage kept), joined back to the pages by
their ``page`` key; a page the stage rejected scores as empty. AEB: mean per-page token P/R/F1;
trafilatura-eval: snippet P/R/F1 (bench/extract.py's scorers). Bare trafilatura is scored the same
way on its own output.

Where the run's CPU goes: the cost model is also fitted per process group (the ``curate`` driver,
Ray's workers, Ray's services: raylet, GCS, agents), and, in this process, the reader alone
(``curation.io.sources.read_shard`` over the smallest input, the pipeline's input options) and the
extract operator alone (bench/extract.py's operator path) are timed per document, so the per-document
cost of the run splits into reader + operator + the rest (output writes, per-shard commits and stats,
Ray's task traffic).

    .venv/bin/python bench/extract_run.py [--split dev|test|all] [--scales 1 4 8]
        [--engines curation trafilatura resiliparse] [--workers 2] [--data ../shared/data/html_extraction]
        [--set KEY=VALUE] [--pages N] [--keep DIR]

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.extract import (DEFAULT, as_table, bare_trafilatura, load, load_trafilatura_eval, operator,  # noqa: E402
                           snippet_prf)
from bench.vs_datatrove import become_subreaper, tree_cpu  # noqa: E402
from curation.evaluation.tokens import precision_recall_f1  # noqa: E402

PIPELINE = ROOT / "bench" / "pipelines" / "extract_only.yaml"
ENGINES = ("curation", "trafilatura", "resiliparse")
#: the issue-18 bar for the default extract stage against bare trafilatura (docs/extraction.md)
BAR = {"speed": 5.0, "aeb_f1": 0.005, "teval_f1": 0.01}


@dataclass(frozen=True)
class Page:
    key: str      # "aeb-<n>" or "tev-<n>": the join key of the run's output
    kind: str     # "aeb" (truth: the article body) or "tev" (truth: {"with": [...], "without": [...]})
    url: str
    html: str
    truth: object


def bench_pages(data: Path, split: str) -> list[Page]:
    """The AEB and trafilatura-eval pages of ``split``, in bench/extract.py's order (``data`` is
    the html_extraction folder)."""
    aeb = [Page(f"aeb-{i}", "aeb", url, html, body)
           for i, (html, url, body) in enumerate(load(data / "scrapinghub_aeb", split))]
    tev = [Page(f"tev-{i}", "tev", url, html, truth)
           for i, (html, url, truth) in enumerate(load_trafilatura_eval(data / "trafilatura_eval", split))]
    return aeb + tev


def copy_url(url: str, copy: int) -> str:
    return url if copy == 0 else f"{url}{'&' if '?' in url else '?'}copy={copy}"


def write_input(pages: list[Page], copies: int, folder: Path, files: int = 4, row_group_bytes: int = 1 << 19) -> int:
    """``copies`` copies of every page as Parquet files in ``folder`` (the copies round-robin over
    ``files`` files, row groups of about ``row_group_bytes`` of HTML so that the reader's shards
    stay near the pipeline's ``shard_max_bytes``); returns the number of documents written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    schema = pa.schema([("id", pa.string()), ("url", pa.string()), ("html", pa.string()),
                        ("page", pa.string()), ("copy", pa.int32())])
    writers = [pq.ParquetWriter(folder / f"pages-{i:03d}.parquet", schema, compression="zstd") for i in range(files)]
    pending: list[list[dict]] = [[] for _ in range(files)]
    sizes = [0] * files
    n = 0
    for copy in range(copies):
        for page in pages:
            f = n % files
            pending[f].append({"id": f"{page.key}-c{copy}", "url": copy_url(page.url, copy), "html": page.html,
                               "page": page.key, "copy": copy})
            sizes[f] += len(page.html)
            if sizes[f] >= row_group_bytes:
                writers[f].write_table(pa.Table.from_pylist(pending[f], schema=schema))
                pending[f], sizes[f] = [], 0
            n += 1
    for f, w in enumerate(writers):
        if pending[f]:
            w.write_table(pa.Table.from_pylist(pending[f], schema=schema))
        w.close()
    return n


def curate_command(inp: Path, out: Path, engine: str, workers: int, sets: list[str] = ()) -> list[str]:
    curate = str(Path(sys.executable).parent / "curate")
    return [curate, "run", str(PIPELINE), "--input", str(inp), "--output", str(out), "--workers", str(workers),
            "--set", f"extract.engine={engine}", *(a for kv in sets for a in ("--set", kv)), "--quiet"]


@dataclass
class RunOutput:
    texts: dict[tuple[str, int], str]   # (page, copy) -> the extract stage's output text
    kept: int
    rejected: dict[str, int]            # "stage:reason" -> rows


def read_output(run: Path) -> RunOutput:
    """What the run's extract stage kept (its Parquet output, keyed by page and copy) and the rows the
    reader and the stage rejected, by reason."""
    import pyarrow.parquet as pq

    from curation.run.layout import RunLayout
    from curation.run.commit import committed
    from curation.run.stage_output import stage_output

    so = stage_output(f"{run}@extract", run, "extract")
    kept = pq.read_table(so.kept, columns=["page", "copy", "text"], filesystem=so.layout.fs)
    texts = {(p, c): t for p, c, t in zip(kept.column("page").to_pylist(), kept.column("copy").to_pylist(),
                                          kept.column("text").to_pylist())}
    layout = RunLayout.of(run)
    rejected: dict[str, int] = {}
    for stage in ("read", "extract"):
        files = [i.path for i in committed(layout.fs, layout.rejected_dir(stage))]
        if files:
            for reason in pq.read_table(files, columns=["reason"], filesystem=layout.fs).column("reason").to_pylist():
                rejected[f"{stage}:{reason}"] = rejected.get(f"{stage}:{reason}", 0) + 1
    return RunOutput(texts, kept.num_rows, rejected)


def score(pages: list[Page], texts: list[str | None]) -> dict:
    """AEB mean token P/R/F1 and trafilatura-eval snippet P/R/F1 of ``texts`` (one per page, None for
    a page with no output), as bench/extract.py scores them."""
    aeb = [precision_recall_f1(t, p.truth) for p, t in zip(pages, texts) if p.kind == "aeb"]
    tev_pages = [(p.html, p.url, p.truth) for p in pages if p.kind == "tev"]
    tev_texts = [t for p, t in zip(pages, texts) if p.kind == "tev"]
    out = {}
    if aeb:
        out.update({name: round(sum(x[i] for x in aeb) / len(aeb), 4)
                    for i, name in enumerate(("aeb_p", "aeb_r", "aeb_f1"))})
    if tev_pages:
        out.update({name: round(v, 4)
                    for name, v in zip(("teval_p", "teval_r", "teval_f1"), snippet_prf(tev_texts, tev_pages))})
    return out


@dataclass(frozen=True)
class CostFit:
    """``cpu_s = fixed_s + per_doc_s * docs``, least squares over the measured sizes."""
    fixed_s: float
    per_doc_s: float
    residuals_s: tuple[float, ...]   # measured minus fitted, per size

    @property
    def docs_per_cpu_s(self) -> float:
        """The marginal rate: documents per CPU-second with the fixed cost taken out."""
        return 1.0 / self.per_doc_s

    @property
    def rms_residual_s(self) -> float:
        return (sum(r * r for r in self.residuals_s) / len(self.residuals_s)) ** 0.5


def least_squares_line(docs: list[int], cpu_s: list[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through (docs, cpu_s)."""
    mx, my = statistics.fmean(docs), statistics.fmean(cpu_s)
    slope = sum((x - mx) * (y - my) for x, y in zip(docs, cpu_s)) / sum((x - mx) ** 2 for x in docs)
    return my - slope * mx, slope


def fit_cost(docs: list[int], cpu_s: list[float]) -> CostFit:
    if len(set(docs)) < 2:
        raise ValueError("the cost model needs two or more sizes (--scales)")
    fixed, per_doc = least_squares_line(docs, cpu_s)
    if per_doc <= 0:
        raise ValueError(f"CPU seconds do not grow with the documents ({list(zip(docs, cpu_s))}): "
                         "the sizes are within the fixed cost's noise; use larger --scales")
    return CostFit(fixed, per_doc, tuple(y - (fixed + per_doc * x) for x, y in zip(docs, cpu_s)))


def process_group(name: str) -> str:
    """``driver`` (the ``curate`` command), ``workers`` (Ray's worker processes, named by the task or
    actor they last ran: ``ray::ShardWorker``, ``ray::IDLE``; ``default_worker.py`` before that) or
    ``ray services`` (raylet, gcs_server, the dashboard, runtime-env and log agents)."""
    if name == "curate":
        return "driver"
    if name == "default_worker.py" or (name.startswith("ray::") and "Agent" not in name and "Dashboard" not in name):
        return "workers"
    return "ray services"


def cost_by_group(sizes: list[int], runs_of_engine: dict[int, dict]) -> dict[str, tuple[float, float]]:
    """The cost model per process group: group -> (fixed CPU-s, CPU-s per document)."""
    cpu = {k: {} for k in sizes}
    for k in sizes:
        for name, s in runs_of_engine[k]["by_process"].items():
            cpu[k][process_group(name)] = cpu[k].get(process_group(name), 0.0) + s
    groups = sorted({g for k in sizes for g in cpu[k]})
    return {g: least_squares_line([runs_of_engine[k]["docs"] for k in sizes], [cpu[k].get(g, 0.0) for k in sizes])
            for g in groups}


def in_process_cpu_s(pages: list[Page], engine: str) -> float:
    """CPU seconds of the extract operator alone over ``pages`` in this process (bench/extract.py's
    operator path: a table as the reader hands it, the operator set up outside the timing)."""
    run = operator(engine)
    rows = [(p.html, p.url, p.truth) for p in pages]
    table = as_table(rows)
    t0 = time.process_time()
    run(rows, table)
    return time.process_time() - t0


def reader_cpu_s(inp: Path, sets: list[str]) -> tuple[float, int]:
    """CPU seconds and documents of the run's reader alone over ``inp`` (the pipeline's input options)."""
    from curation.config import load_pipeline
    from curation.io.sources import plan_shards, read_shard

    cfg = load_pipeline(PIPELINE, sets).input
    t0 = time.process_time()
    n = sum(b.docs.num_rows + b.rejected.num_rows for s in plan_shards([str(inp)], cfg.shard_max_bytes, cfg.reader)
            for b in read_shard(s, cfg.batch_docs, cfg.max_record_bytes))
    return time.process_time() - t0, n


def bare_round(pages: list[Page]) -> tuple[float, list[str | None]]:
    """CPU seconds of bare trafilatura over ``pages`` in this process, and its texts. Fresh str
    objects, as a reader hands them over (see bench/extract.py: a cached UTF-8 form flatters)."""
    fresh = [(p.html.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass"), p.url) for p in pages]
    t0 = time.process_time()
    texts = [bare_trafilatura(html, url) for html, url in fresh]
    return time.process_time() - t0, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT.parent, help="the html_extraction folder of ../shared/data")
    ap.add_argument("--split", choices=("all", "dev", "test"), default="test",
                    help="bench/extract.py's split: test is the held-out third (the curation engine was tuned on dev)")
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4, 8],
                    help="copies of every page per size (two or more sizes; three check the cost model's line)")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    ap.add_argument("--workers", type=int, default=2, help="curate run --workers")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="passed to curate run (repeatable), e.g. --set input.shard_max_bytes=67108864")
    ap.add_argument("--pages", type=int, default=0,
                    help="use this many pages, evenly spaced over the split's (0: all); for a quick look")
    ap.add_argument("--keep", type=Path, default=None, help="keep the inputs, runs and logs in this folder")
    args = ap.parse_args()
    if len(set(args.scales)) < 2:
        ap.error("--scales needs two or more sizes: the fixed cost is fitted over them")

    become_subreaper()
    pages = bench_pages(args.data, args.split)
    if 0 < args.pages < len(pages):
        pages = [pages[i * len(pages) // args.pages] for i in range(args.pages)]
    n_aeb = sum(p.kind == "aeb" for p in pages)
    print(f"{len(pages)} pages ({n_aeb} AEB, {len(pages) - n_aeb} trafilatura-eval; split {args.split}); "
          f"sizes x{' x'.join(map(str, args.scales))}; {args.workers} workers", flush=True)
    work = Path(tempfile.mkdtemp(prefix="extract-run-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    bare_cpu: list[float] = []
    runs: dict[tuple[str, int], dict] = {}
    try:
        docs = {k: write_input(pages, k, work / f"input-x{k}") for k in sorted(set(args.scales))}
        for engine in args.engines:
            took, bare_texts = bare_round(pages)
            bare_cpu.append(took)
            for k in sorted(docs):
                out = work / f"run-{engine}-x{k}"
                m = tree_cpu(curate_command(work / f"input-x{k}", out, engine, args.workers, args.set),
                             work / f"run-{engine}-x{k}.log")
                got = read_output(out)
                if got.kept + sum(got.rejected.values()) != docs[k]:
                    raise RuntimeError(f"{out}: {docs[k]} documents in, {got.kept} kept + {got.rejected} rejected")
                texts = [got.texts.get((p.key, c)) for c in range(k) for p in pages]
                runs[engine, k] = {**m, "docs": docs[k], "kept": got.kept, "rejected": got.rejected,
                                   "score": score(pages * k, texts)}
                print(f"  {engine} x{k}: {docs[k]} docs, {m['cpu_s']:.1f} CPU-s ({m['processes']} processes), "
                      f"{m['wall_s']:.1f} s wall, rejected {got.rejected or 'none'}", flush=True)
            if args.keep is None:
                for k in docs:
                    shutil.rmtree(work / f"run-{engine}-x{k}", ignore_errors=True)
        took, bare_texts = bare_round(pages)
        bare_cpu.append(took)
        k = min(docs)
        read_s, read_docs = reader_cpu_s(work / f"input-x{k}", args.set)
        op_ms = {e: in_process_cpu_s(pages, e) * 1000 / len(pages) for e in args.engines}
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    bare_rate = len(pages) / min(bare_cpu)
    bare_median = len(pages) / statistics.median(bare_cpu)
    bare_score = score(pages, bare_texts)
    read_ms = read_s * 1000 / read_docs
    print(f"\nbare trafilatura.extract(), one process: {bare_rate:.1f} docs/CPU-s (best of {len(bare_cpu)} rounds; "
          f"median {bare_median:.1f})")
    print(f"\n{'engine':<12}{'size':>5}{'docs':>7}{'kept':>7}{'CPU s':>8}{'fit s':>8}{'resid s':>8}{'docs/CPU-s':>11}"
          f"{'AEB F1':>8}{'t-eval P':>9}{'R':>7}{'F1':>7}")
    headline: dict = {"split": args.split, "pages": len(pages), "aeb_pages": n_aeb, "teval_pages": len(pages) - n_aeb,
                      "scales": sorted(docs), "workers": args.workers, "set": args.set,
                      "in_process_reader_cpu_ms": round(read_ms, 3),
                      "bare_trafilatura": {"docs_per_cpu_s": round(bare_rate, 1),
                                           "docs_per_cpu_s_median": round(bare_median, 1), **bare_score},
                      "engines": {}}
    for engine in args.engines:
        sizes = sorted(docs)
        try:
            fit = fit_cost([runs[engine, k]["docs"] for k in sizes], [runs[engine, k]["cpu_s"] for k in sizes])
        except ValueError as e:
            print(f"{engine}: {e}")
            continue
        for k, resid in zip(sizes, fit.residuals_s):
            r, s = runs[engine, k], runs[engine, k]["score"]
            print(f"{engine:<12}{'x' + str(k):>5}{r['docs']:>7}{r['kept']:>7}{r['cpu_s']:>8.1f}"
                  f"{r['cpu_s'] - resid:>8.1f}"
                  f"{resid:>+8.1f}{r['docs'] / r['cpu_s']:>11.1f}{s['aeb_f1']:>8.3f}{s['teval_p']:>9.3f}"
                  f"{s['teval_r']:>7.3f}{s['teval_f1']:>7.3f}")
        s = runs[engine, sizes[0]]["score"]  # the smallest size: every page once, under its own url
        ratio = fit.docs_per_cpu_s / bare_rate
        print(f"{'':<12}cost = {fit.fixed_s:.1f} CPU-s + {fit.per_doc_s * 1000:.2f} CPU-ms x docs "
              f"(rms residual {fit.rms_residual_s:.2f} CPU-s): marginal {fit.docs_per_cpu_s:.1f} docs/CPU-s, "
              f"{ratio:.2f}x bare trafilatura (F1 vs bare: AEB {s['aeb_f1'] - bare_score['aeb_f1']:+.3f}, "
              f"t-eval {s['teval_f1'] - bare_score['teval_f1']:+.3f})")
        groups = cost_by_group(sizes, {k: runs[engine, k] for k in sizes})
        print(f"{'':<12}per document by process group: " +
              ", ".join(f"{g} {per * 1000:.2f} ms" for g, (_, per) in groups.items()) +
              "; fixed: " + ", ".join(f"{g} {fx:.1f} s" for g, (fx, _) in groups.items()))
        print(f"{'':<12}in one process: reader {read_ms:.2f} + extract operator {op_ms[engine]:.2f} = "
              f"{read_ms + op_ms[engine]:.2f} CPU-ms/doc; curate run adds "
              f"{fit.per_doc_s * 1000 - read_ms - op_ms[engine]:.2f} (writes, per-shard commits and stats, Ray)")
        headline["engines"][engine] = {
            "fixed_cpu_s": round(fit.fixed_s, 2), "per_doc_cpu_ms": round(fit.per_doc_s * 1000, 3),
            "rms_residual_cpu_s": round(fit.rms_residual_s, 2),
            "marginal_docs_per_cpu_s": round(fit.docs_per_cpu_s, 1), "ratio_vs_bare_trafilatura": round(ratio, 2),
            "with_fixed_docs_per_cpu_s": {f"x{k}": round(runs[engine, k]["docs"] / runs[engine, k]["cpu_s"], 1)
                                          for k in sizes},
            **s, "aeb_f1_vs_bare": round(s["aeb_f1"] - bare_score["aeb_f1"], 4),
            "teval_f1_vs_bare": round(s["teval_f1"] - bare_score["teval_f1"], 4),
            "same_f1_every_size": all(runs[engine, k]["score"] == s for k in sizes),
            "per_doc_cpu_ms_by_group": {g: round(per * 1000, 3) for g, (_, per) in groups.items()},
            "in_process_operator_cpu_ms": round(op_ms[engine], 3)}
    print(f"bare trafilatura{'':>37}{'':>11}{bare_score['aeb_f1']:>8.3f}{bare_score['teval_p']:>9.3f}"
          f"{bare_score['teval_r']:>7.3f}{bare_score['teval_f1']:>7.3f}")
    if "curation" in headline["engines"]:
        c = headline["engines"]["curation"]
        bar = {"speed_5x": c["ratio_vs_bare_trafilatura"] >= BAR["speed"],
               "aeb_f1_within_0.005": c["aeb_f1_vs_bare"] >= -BAR["aeb_f1"],
               "teval_f1_within_0.01": c["teval_f1_vs_bare"] >= -BAR["teval_f1"]}
        print("issue 18's bar for engine: curation through curate run: " +
              ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in bar.items()))
        headline["curation_bar"] = bar
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
