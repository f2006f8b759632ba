"""The comparable pipeline, ours against datatrove, side by side: documents per CPU-second.

The same pages go through both:

* ours: ``curate run`` (a local Ray started by the command) with a pipeline file this bench writes:
  extract -> url_filter -> url_dedup -> minhash_dedup (14 bands x 8 rows, word 5-grams) ->
  heuristics (Gopher quality + repetition, C4, FineWeb line rules; dirty words off, as datatrove's
  C4BadWordsFilter needs a download), once per extract engine (trafilatura, curation, resiliparse);
* datatrove: a generated script in datatrove's own virtualenv, ``LocalPipelineExecutor``:
  JsonlReader -> Trafilatura(favour_precision, timeout 10 s as ours) -> URLFilter ->
  MinhashDedupSignature | Buckets | Cluster | Filter (MinhashConfig defaults: the same 14 x 8,
  5-grams) -> GopherRepetition -> GopherQuality -> C4Quality -> FineWebQuality -> JsonlWriter.
  datatrove 0.10.1 has no URL-dedup stage; no two pages here share a URL, so ours drops none there.

Pages: the real pages of ../shared/data/html_extraction (AEB, trafilatura-eval, Readability
sources: 1,035; ``--pages`` evenly spaced ones of them, 150 by default), written once as JSONL.gz with ``id``, ``url``, ``html``; at ``4x`` each page
also comes as 3 near-duplicate copies (another URL, ``?mirror=k``, and one extra paragraph).

CPU seconds are those of each command's whole process tree, sampled: every 50 ms the bench
reads user + system time of each of its descendants (psutil), and each process counts with its
last sample. The bench makes itself the child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a
process that outlives its parent (datatrove's forkserver, Ray's agents) stays in the tree and is
still counted. ``getrusage(RUSAGE_CHILDREN)`` is printed beside it: it misses Ray's workers (their
parent, the raylet, does not pass their time up: 4.1 s by rusage against 7.6 s sampled on 40 pages),
so it is not the figure used. The figures include each tool's fixed start cost (Ray start-up for ours), which is why 4x is
also shown. datatrove's venv is made on first use (``python3 -m venv`` + pip from PyPI) under
``--venv`` (default ~/.cache/curation-bench/datatrove-venv).

    .venv/bin/python bench/vs_datatrove.py [--scales 1 4] [--engines trafilatura curation resiliparse]
        [--workers 2] [--data ../shared/data] [--venv DIR] [--pages 150] [--keep DIR]

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VENV = Path.home() / ".cache" / "curation-bench" / "datatrove-venv"
# datatrove[processing] 0.10.1 pins trafilatura<1.12 (1.11.0 installs); its trafilatura needs
# lxml's html cleaner, now a separate package; Gopher/C4/FineWeb tokenise English words with spaCy;
# its JSONL reader and writer need orjson (none of the three is in the extra).
DATATROVE_PINS = ["datatrove[processing]==0.10.1", "lxml_html_clean==0.4.7", "spacy==3.8.18", "orjson==3.13.0"]
ENGINES = ("trafilatura", "curation", "resiliparse")

PIPELINE = """\
name: vs_datatrove
input:
  shard_max_bytes: 1048576
  batch_docs: 200
stages:
  - op: extract
    engine: {engine}
    max_bytes: 10000000
    timeout_s: 10
    min_chars: 1
  - op: url_filter
    use_default_list: true
  - op: url_dedup
  - op: minhash_dedup
    bands: 14
    rows: 8
    ngram: 5
  - op: heuristics
    gopher_quality: true
    gopher_repetition: true
    c4: true
    fineweb: true
    dirty_words: false
"""

DATATROVE_SCRIPT = """\
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                      MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter, URLFilter)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from tldextract import TLDExtract

def main():
    inp, work, tasks = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = MinhashConfig()
    url_filter = URLFilter()
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())  # the bundled suffix list: no fetch
    logs = work + "/logs"
    s1 = LocalPipelineExecutor([
        JsonlReader(inp, text_key="html", id_key="id"),
        Trafilatura(favour_precision=True, timeout=10.0),
        url_filter,
        JsonlWriter(work + "/base"),
        MinhashDedupSignature(output_folder=work + "/sigs", config=cfg),
    ], tasks=tasks, workers=tasks, logging_dir=logs + "/1")
    s2 = LocalPipelineExecutor([MinhashDedupBuckets(input_folder=work + "/sigs", output_folder=work + "/buckets", config=cfg)],
                               tasks=cfg.num_buckets, workers=tasks, logging_dir=logs + "/2", depends=s1)
    s3 = LocalPipelineExecutor([MinhashDedupCluster(input_folder=work + "/buckets", output_folder=work + "/remove", config=cfg)],
                               tasks=1, logging_dir=logs + "/3", depends=s2)
    s4 = LocalPipelineExecutor([
        JsonlReader(work + "/base"),
        MinhashDedupFilter(input_folder=work + "/remove"),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(),
        FineWebQualityFilter(),
        JsonlWriter(work + "/out"),
    ], tasks=tasks, workers=tasks, logging_dir=logs + "/4", depends=s3)
    s4.run()


if __name__ == "__main__":  # the executor's forkserver re-imports this file
    main()
"""


def ensure_venv(venv: Path) -> Path:
    py = venv / "bin" / "python"
    probe = [str(py), "-c", "import datatrove, trafilatura, spacy, lxml_html_clean, orjson"]
    if py.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return py
    print(f"making datatrove's virtualenv at {venv} (pip from PyPI: {' '.join(DATATROVE_PINS)})", flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *DATATROVE_PINS], check=True)
    subprocess.run(probe, check=True)
    return py


def load_pages(data: Path) -> list[tuple[str, str, str]]:
    """(id, url, html) of every page of the three extraction sets, in a fixed order."""
    import lxml.html  # noqa: F401  (only to fail early, as bench/extract.py)

    pages = []
    aeb = data / "html_extraction" / "scrapinghub_aeb"
    for key, rec in sorted(json.loads((aeb / "ground-truth.json").read_text()).items()):
        f = aeb / "html" / f"{key}.html.gz"
        if f.exists():
            pages.append((f"aeb-{key}", rec["url"], gzip.open(f).read().decode("utf-8", "replace")))
    tev = data / "html_extraction" / "trafilatura_eval"
    for i, (url, rec) in enumerate(sorted(json.loads((tev / "evaldata.json").read_text()).items())):
        name = rec["file"] if rec["file"].endswith(".gz") else rec["file"] + ".gz"
        f = tev / "html" / name
        if f.exists():
            pages.append((f"tev-{i}", url, gzip.open(f).read().decode("utf-8", "replace")))
    rd = data / "html_extraction" / "mozilla_readability"
    for case in sorted(p for p in rd.iterdir() if (p / "source.html.gz").exists()):
        pages.append((f"rd-{case.name}", f"https://readability.example/{case.name}",
                      gzip.open(case / "source.html.gz").read().decode("utf-8", "replace")))
    return pages


def near_duplicate(html: str, k: int) -> str:
    extra = f"<p>Mirror copy {k} of this page.</p>"
    at = html.lower().rfind("</body>")
    return html[:at] + extra + html[at:] if at >= 0 else html + extra


def write_input(pages, scale: int, folder: Path, files: int) -> int:
    folder.mkdir(parents=True)
    outs = [gzip.open(folder / f"pages-{i:03d}.jsonl.gz", "wt", encoding="utf-8") for i in range(files)]
    n = 0
    for k in range(scale):
        for doc_id, url, html in pages:
            if k:
                doc_id, url, html = f"{doc_id}-m{k}", f"{url}{'&' if '?' in url else '?'}mirror={k}", near_duplicate(html, k)
            outs[n % files].write(json.dumps({"id": doc_id, "url": url, "html": html}) + "\n")
            n += 1
    for o in outs:
        o.close()
    return n


def become_subreaper() -> None:
    PR_SET_CHILD_SUBREAPER = 36
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed: orphans' CPU would be lost")


class TreeSampler:
    """CPU seconds (user + system) of every descendant of this process, sampled with psutil every
    ``interval_s``: each process counts with its last sample (a process lost between two samples
    loses at most ``interval_s`` of CPU, so the figure is a lower bound, close for processes that live
    seconds). The bench is the child subreaper, so orphans stay in the tree and are reaped here."""

    def __init__(self, interval_s: float = 0.05):
        import psutil

        self.psutil, self.me, self.interval_s, self.last, self.orphans = psutil, psutil.Process(), interval_s, {}, 0
        self.names: dict[tuple[int, float], str] = {}  # each process's name at its last sample (Ray renames
        #                                                 its workers: ray::IDLE, ray::ShardWorker...)

    def sample(self) -> None:
        for p in self.me.children(recursive=True):
            try:
                with p.oneshot():
                    t, key = p.cpu_times(), (p.pid, p.create_time())
                    self.last[key], self.names[key] = t.user + t.system, self._name(p)
            except self.psutil.Error:
                pass

    @staticmethod
    def _name(p) -> str:
        """The process name, or for a Python process the script it runs (Ray's log_monitor.py, ...)."""
        name = p.name()
        if name.startswith("python"):
            name = next((os.path.basename(a) for a in p.cmdline()[1:] if a.endswith(".py")), name)
        return name

    def reap(self) -> bool:
        """Reap exited children; True while any child is left."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            self.orphans += 1

    def cpu_s(self) -> float:
        return sum(self.last.values())

    def by_name(self) -> dict[str, float]:
        """CPU seconds per process name (``curate``, ``raylet``, ``gcs_server``, ``ray::IDLE``, ...)."""
        out: dict[str, float] = {}
        for key, cpu in self.last.items():
            out[self.names[key]] = out.get(self.names[key], 0.0) + cpu
        return out


def tree_cpu(cmd: list[str], log: Path, timeout_s: float = 1800.0) -> dict:
    """Run one command; its whole tree's CPU seconds (sampled), the same by getrusage(RUSAGE_CHILDREN)
    (which misses processes whose parent does not wait for them: Ray's workers), wall seconds."""
    sampler = TreeSampler()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        rc = None
        while rc is None:
            sampler.sample()
            rc = proc.poll()
            if time.monotonic() - t0 > timeout_s:
                os.killpg(proc.pid, signal.SIGKILL)
                raise RuntimeError(f"{cmd[0]} ... ran past {timeout_s} s; see {log}")
            time.sleep(sampler.interval_s)
    while sampler.reap():  # orphans (re-parented to us) still running
        sampler.sample()
        if time.monotonic() - t0 > timeout_s + 120:
            raise RuntimeError(f"descendants of {cmd[0]} still running; see {log}")
        time.sleep(sampler.interval_s)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        raise RuntimeError(f"{cmd[0]} ... exited {rc}; see {log}:\n" + log.read_text()[-3000:])
    rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": sampler.cpu_s(), "rusage_cpu_s": rusage, "wall_s": wall, "processes": len(sampler.last),
            "orphans": sampler.orphans, "by_process": sampler.by_name()}


def count_ours(run: Path) -> int:
    import pyarrow.parquet as pq

    last = sorted(p for p in run.iterdir() if p.is_dir() and p.name[:2].isdigit() and "-" in p.name)[-1]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in last.rglob("*.parquet"))


def count_datatrove(out: Path) -> int:
    return sum(sum(1 for _ in gzip.open(f, "rt")) for f in out.glob("*.jsonl.gz"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4], help="copies of each page (4: 3 near-duplicates)")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    ap.add_argument("--workers", type=int, default=2, help="our --workers and datatrove's tasks/workers")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--venv", type=Path, default=VENV, help="datatrove's virtualenv (made if missing)")
    ap.add_argument("--pages", type=int, default=150,
                    help="pages used, evenly spaced over the 1,035 of the three sets (0: all); the default keeps "
                         "the run to minutes on 2 cores")
    ap.add_argument("--keep", type=Path, default=None, help="keep inputs and outputs in this folder")
    args = ap.parse_args()

    dt_python = ensure_venv(args.venv)
    become_subreaper()
    pages = load_pages(args.data)
    if 0 < args.pages < len(pages):
        pages = [pages[i * len(pages) // args.pages] for i in range(args.pages)]
    work = Path(tempfile.mkdtemp(prefix="vs-datatrove-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    (work / "datatrove_pipeline.py").write_text(DATATROVE_SCRIPT)
    curate = str(Path(sys.executable).parent / "curate")
    rows, headline = [], {"pages": len(pages), "workers": args.workers}
    try:
        for scale in args.scales:
            inp = work / f"input-{scale}x"
            n = write_input(pages, scale, inp, files=max(args.workers, 4))
            dt = tree_cpu([str(dt_python), str(work / "datatrove_pipeline.py"), str(inp),
                           str(work / f"dt-{scale}x"), str(args.workers)], work / f"dt-{scale}x.log")
            dt.update(docs=n, kept=count_datatrove(work / f"dt-{scale}x" / "out"))
            rows.append((f"{scale}x", "datatrove (trafilatura)", dt, None))
            headline[f"datatrove_{scale}x_docs_per_cpu_s"] = round(n / dt["cpu_s"], 2)
            for engine in args.engines:
                pipe = work / f"pipeline-{engine}.yaml"
                pipe.write_text(PIPELINE.format(engine=engine))
                run = work / f"ours-{engine}-{scale}x"
                ours = tree_cpu([curate, "run", str(pipe), "--input", str(inp), "--output", str(run),
                                 "--workers", str(args.workers), "--quiet"], work / f"ours-{engine}-{scale}x.log")
                ours.update(docs=n, kept=count_ours(run))
                ratio = dt["cpu_s"] / ours["cpu_s"]  # docs per CPU-second, ours over datatrove's (same docs)
                rows.append((f"{scale}x", f"ours ({engine})", ours, ratio))
                headline[f"ours_{engine}_{scale}x_docs_per_cpu_s"] = round(n / ours["cpu_s"], 2)
                headline[f"ratio_{engine}_{scale}x"] = round(ratio, 2)
                print(f"  {scale}x {engine}: {n / ours['cpu_s']:.1f} docs/CPU-s, {ratio:.2f}x datatrove", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'scale':>5}  {'pipeline':<26} {'docs':>6} {'kept':>6} {'CPU s':>8} {'rusage s':>8} {'wall s':>7} "
          f"{'procs':>5} {'docs/CPU-s':>10} {'ours/dt':>8}")
    for scale, name, r, ratio in rows:
        print(f"{scale:>5}  {name:<26} {r['docs']:>6} {r['kept']:>6} {r['cpu_s']:>8.1f} {r['rusage_cpu_s']:>8.1f} "
              f"{r['wall_s']:>7.1f} {r['processes']:>5} {r['docs'] / r['cpu_s']:>10.2f} "
              f"{'' if ratio is None else f'{ratio:.2f}x':>8}")
    # the cost model at two sizes: fixed start cost + a cost per document; the marginal rate
    # (4x - 1x) is the rate with each tool's fixed cost (Ray's start-up, datatrove's imports) taken out
    by = {(scale, name): r for scale, name, r, _ in rows}
    if ("1x", "datatrove (trafilatura)") in by and ("4x", "datatrove (trafilatura)") in by:
        dt1, dt4 = by["1x", "datatrove (trafilatura)"], by["4x", "datatrove (trafilatura)"]
        dt_marg = (dt4["docs"] - dt1["docs"]) / (dt4["cpu_s"] - dt1["cpu_s"])
        print(f"\nmarginal docs/CPU-s (4x - 1x, fixed cost out): datatrove {dt_marg:.2f}")
        for engine in args.engines:
            o1, o4 = by["1x", f"ours ({engine})"], by["4x", f"ours ({engine})"]
            if o4["cpu_s"] - o1["cpu_s"] < 5.0:
                print(f"  ours ({engine}): 4x - 1x is {o4['cpu_s'] - o1['cpu_s']:.1f} CPU-s, within the fixed cost's "
                      "noise: run with more --pages")
                continue
            marg = (o4["docs"] - o1["docs"]) / (o4["cpu_s"] - o1["cpu_s"])
            fixed = o1["cpu_s"] - o1["docs"] / marg
            print(f"  ours ({engine}): {marg:.2f} docs/CPU-s, {marg / dt_marg:.2f}x datatrove; fixed cost {fixed:.1f} CPU-s")
            headline[f"marginal_ratio_{engine}"] = round(marg / dt_marg, 2)
        headline["datatrove_fixed_cpu_s"] = round(dt1["cpu_s"] - dt1["docs"] / dt_marg, 1)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
