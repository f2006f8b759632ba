"""Deduplication: signature throughput beside datasketch and datatrove, correctness on real data,
end-to-end time and memory at 1x, 4x and 16x the input.

    .venv/bin/python bench/dedup.py [--data ../shared/data] [--repeats 3] [--skip-scaling]

Parts (all in one run, on the same documents):

1. **Throughput** (per core: process CPU time of one process, best of ``--repeats`` interleaved
   rounds): our collect step (normalize, shingle, 112 MinHashes, 14 band keys) on batches of 200
   documents; datasketch ``MinHash.update_batch`` (with the plain Python 5-gram shingling a user
   writes; and on pre-built shingles); datatrove's ``MinhashDedupSignature`` (its default config,
   14 x 8, 5-grams, 64-bit; ``get_shingles`` + ``get_signature`` per document, and its full
   ``run`` that also writes and sorts its bucket files). datatrove lives in its own environment
   (``bench/.venv-peers``, ``pip install "datatrove[processing]" spacy``); it is timed in a child
   process of that environment that times ours again on the same documents, so its ratio is
   measured side by side in one process.
2. **Correctness**: near-duplicates made from real pages (boilerplate inserted, ~10% of words
   changed, truncation, and all three), their exact Jaccard on our shingles and the fraction found
   (sharing an LSH bucket) by us and by datasketch ``MinHashLSH`` (same shingles, same 14 x 8),
   against the S-curve's prediction; the Clough-Stevenson corpus per class; the ClueWeb Japanese
   shop-page WARC through extract + url_dedup + minhash_dedup + line_dedup on Ray.
3. **Scaling**: url_dedup + minhash_dedup + line_dedup on Ray (2 workers) at 1x, 4x and 16x a
   text corpus (copies perturbed), wall time and the peak RSS of any worker process; and, in this
   process (the engine's ShardWorker without Ray), the peak numpy/Python heap of each phase call
   (tracemalloc; Arrow's buffers come on top) with the spill bytes per document.

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from curation import schema  # noqa: E402
from curation.dedup.minhash import MinHasher, candidate_probability  # noqa: E402
from curation.dedup.synth import perturb, shingle_set  # noqa: E402
from curation.operators.context import ShardContext  # noqa: E402
from curation.operators.minhash_dedup import MinhashDedup  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
PEERS = ROOT / "bench" / ".venv-peers" / "bin" / "python"
BATCH = 200


# -- corpus ---------------------------------------------------------------------------------
def load_corpus(data: Path) -> list[dict]:
    """Real texts: ScrapingHub article bodies (real news pages), CCNet documents, WikiText-2
    articles and the UDHR in 532 languages (many non-Latin scripts). Falls back to the bundled
    sample when ../shared/data is absent."""
    docs = []
    if data.exists():
        gt = json.loads((data / "html_extraction" / "scrapinghub_aeb" / "ground-truth.json").read_text())
        for k in sorted(gt):
            docs.append({"url": gt[k]["url"], "text": gt[k]["articleBody"], "source": "scrapinghub"})
        for line in gzip.open(data / "raw_web" / "ccnet_text" / "cc_en_head-0091.jsonl.gz"):
            r = json.loads(line)
            docs.append({"url": r["id"], "text": r["text"], "source": "ccnet"})
        raw = gzip.open(data / "wikipedia_reference" / "wikitext-2-raw" / "wiki.test.raw.gz").read().decode()
        arts = re.split(r"(?m)^ = ([^=].*?) = \r?$", raw)
        for title, body in zip(arts[1::2], arts[2::2]):
            docs.append({"url": f"https://en.wikipedia.org/wiki/{title.strip().replace(' ', '_')}",
                         "text": body.replace("\r", "").strip(), "source": "wikitext"})
        for line in gzip.open(data / "domain_samples" / "multilingual" / "udhr" / "udhr.jsonl.gz"):
            r = json.loads(line)
            docs.append({"url": f"https://udhr.example/{r['code']}", "text": r["text"], "source": "udhr",
                         "lang": r.get("bcp47") or r.get("code")})
    else:
        sample = ROOT / "sample" / "text"
        for name in ("ccnet_cc_en_head-0091.jsonl.gz", "udhr_60.jsonl.gz", "gsm8k_train_300.jsonl.gz"):
            for i, line in enumerate(gzip.open(sample / name)):
                r = json.loads(line)
                docs.append({"url": f"https://sample.example/{name}/{i}", "text": r["text"], "source": name})
    return [d for d in docs if d["text"] and d["text"].strip()]


def _mb(texts) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


# -- 1. throughput ----------------------------------------------------------------------------
def time_ours(texts: list[str]) -> float:
    op = MinhashDedup()
    op.setup()
    t0 = time.process_time()
    for i in range(0, len(texts), BATCH):
        chunk = texts[i: i + BATCH]
        table = pa.table({schema.ID: pa.array([f"{j:016x}" for j in range(i, i + len(chunk))]),
                          schema.TEXT: pa.array(chunk, pa.large_string())})
        op.collect(table, ShardContext())
    return time.process_time() - t0


_WORD = re.compile(r"\w+")


def ds_shingles(text: str) -> list[bytes]:
    toks = _WORD.findall(text.lower())
    if len(toks) < 5:
        return [" ".join(toks).encode()] if toks else []
    return list({" ".join(toks[i: i + 5]).encode() for i in range(len(toks) - 4)})


def time_datasketch(texts: list[str]) -> tuple[float, float]:
    from datasketch import MinHash

    t0 = time.process_time()
    for t in texts:
        m = MinHash(num_perm=112)
        m.update_batch(ds_shingles(t))
    with_shingling = time.process_time() - t0
    pre = [ds_shingles(t) for t in texts]
    t0 = time.process_time()
    for s in pre:
        m = MinHash(num_perm=112)
        m.update_batch(s)
    return with_shingling, time.process_time() - t0


def datatrove_child(corpus_path: str, repeats: int) -> dict:
    """Runs inside bench/.venv-peers: times datatrove and ours on the same documents."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    texts = json.loads(Path(corpus_path).read_text())
    best = {"ours": 1e9, "dt_compute": 1e9, "dt_run": 1e9}
    for _ in range(repeats):
        best["ours"] = min(best["ours"], time_ours(texts))
        with tempfile.TemporaryDirectory() as tmp:
            step = MinhashDedupSignature(output_folder=tmp, config=MinhashConfig())
            t0 = time.process_time()
            for t in texts:
                sh = step.get_shingles(t)
                if sh.size:
                    step.get_signature(sh)
            best["dt_compute"] = min(best["dt_compute"], time.process_time() - t0)
            step = MinhashDedupSignature(output_folder=tmp + "/run", config=MinhashConfig())
            docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
            t0 = time.process_time()
            step.run(iter(docs), rank=0, world_size=1)
            best["dt_run"] = min(best["dt_run"], time.process_time() - t0)
    import datatrove

    best["datatrove_version"] = getattr(datatrove, "__version__", None) or _dist_version("datatrove")
    return best


def _dist_version(name):
    import importlib.metadata as md

    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def throughput(docs: list[dict], repeats: int) -> dict:
    texts = [d["text"] for d in docs]
    n, mb = len(texts), _mb(texts)
    ours, ds, ds_pre = 1e9, 1e9, 1e9
    for _ in range(repeats):
        ours = min(ours, time_ours(texts))
        a, b = time_datasketch(texts)
        ds, ds_pre = min(ds, a), min(ds_pre, b)
    out = {"docs": n, "MB": round(mb, 2),
           "ours": {"docs_s": round(n / ours), "MB_s": round(mb / ours, 2)},
           "datasketch": {"docs_s": round(n / ds), "MB_s": round(mb / ds, 3)},
           "datasketch_preshingled": {"docs_s": round(n / ds_pre), "MB_s": round(mb / ds_pre, 3)},
           "vs_datasketch": round(ds / ours, 1), "vs_datasketch_preshingled": round(ds_pre / ours, 1),
           "datasketch_version": _dist_version("datasketch")}
    print(f"signatures on {n} docs, {mb:.1f} MB, per core (CPU s, best of {repeats}):")
    print(f"  ours                      {n / ours:9.0f} docs/s {mb / ours:8.2f} MB/s")
    print(f"  datasketch update_batch   {n / ds:9.0f} docs/s {mb / ds:8.3f} MB/s   ours x{ds / ours:.1f}")
    print(f"   (pre-shingled)           {n / ds_pre:9.0f} docs/s {mb / ds_pre:8.3f} MB/s   ours x{ds_pre / ours:.1f}")
    if PEERS.exists():
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(texts, f)
        try:
            r = subprocess.run([str(PEERS), __file__, "--datatrove-child", f.name, "--repeats", str(repeats)],
                               capture_output=True, text=True, timeout=3000)
            line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
            dt = json.loads(line) if line.startswith("{") else None
            if dt is None:
                out["datatrove"] = {"error": (r.stderr or r.stdout)[-500:]}
            else:
                o = dt["ours"]
                out["datatrove"] = {
                    "version": dt["datatrove_version"],
                    "compute": {"docs_s": round(n / dt["dt_compute"]), "MB_s": round(mb / dt["dt_compute"], 3)},
                    "run": {"docs_s": round(n / dt["dt_run"]), "MB_s": round(mb / dt["dt_run"], 3)},
                    "ours_same_process": {"docs_s": round(n / o), "MB_s": round(mb / o, 2)},
                    "vs_datatrove_compute": round(dt["dt_compute"] / o, 1),
                    "vs_datatrove_run": round(dt["dt_run"] / o, 1),
                }
                d = out["datatrove"]
                print(f"  datatrove {d['version']} sig compute {n / dt['dt_compute']:6.0f} docs/s "
                      f"{mb / dt['dt_compute']:8.3f} MB/s   ours x{d['vs_datatrove_compute']} (ours in that process: "
                      f"{n / o:.0f} docs/s)")
                print(f"  datatrove full run (writes+sorts) {n / dt['dt_run']:6.0f} docs/s   ours x{d['vs_datatrove_run']}")
        finally:
            os.unlink(f.name)
    else:
        out["datatrove"] = {"error": f"{PEERS} not found: python -m venv bench/.venv-peers && "
                                     "bench/.venv-peers/bin/pip install 'datatrove[processing]' spacy"}
        print("  datatrove: not installed (see bench/.venv-peers)")
    return out


# -- 2. correctness ---------------------------------------------------------------------------
VARIANTS = {
    "boilerplate": dict(change=0.0, boilerplate=3),
    "words_10pct": dict(change=0.10, boilerplate=0),
    "truncate_30pct": dict(change=0.0, boilerplate=0, truncate=0.3),
    "all_three": dict(change=0.05, boilerplate=2, truncate=0.15),
    "light_3pct": dict(change=0.03, boilerplate=1),
}


def _ours_candidates(texts: list[str]) -> tuple[set, list]:
    h = MinHasher()
    sig, has = h.signatures(texts)
    keys = h.band_keys(sig)
    pairs = set()
    for b in range(h.bands):
        order = np.argsort(keys[:, b], kind="stable")
        k = keys[order, b]
        start = 0
        for i in range(1, len(k) + 1):
            if i == len(k) or k[i] != k[start]:
                members = [int(x) for x in order[start:i] if has[x]]
                pairs.update((a, c) if a < c else (c, a) for a in members for c in members if a != c)
                start = i
    return pairs, [shingle_set(t) for t in texts]


def _datasketch_candidates(sets: list[set]) -> set | None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    lsh = MinHashLSH(num_perm=112, params=(14, 8))
    pairs = set()
    for i, s in enumerate(sets):
        if not s:
            continue
        m = MinHash(num_perm=112)
        m.update_batch([int(x).to_bytes(8, "little") for x in s])
        for j in lsh.query(m):
            pairs.add((int(j), i))
        lsh.insert(str(i), m)
    return pairs


def _jac(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def synthetic(docs: list[dict]) -> dict:
    rng = random.Random(11)
    base = [d for d in docs if d["source"] != "udhr" and len(d["text"].split()) >= 100]
    non_latin = [d for d in docs if d["source"] == "udhr" and str(d.get("lang", "")).split("-")[0]
                 in ("ja", "zh", "cmn", "th", "ko", "ar", "ru", "hi", "he", "el", "am", "ka")]
    texts, pairs = [], []
    for d in base + non_latin:
        i = len(texts)
        texts.append(d["text"])
        for kind, kw in VARIANTS.items():
            texts.append(perturb(d["text"], rng, **kw))
            pairs.append((i, len(texts) - 1, kind, d["source"] == "udhr"))
    ours, sets = _ours_candidates(texts)
    theirs = _datasketch_candidates(sets)
    out = {}
    for kind in VARIANTS:
        for script in (False, True):
            sel = [(a, b) for a, b, k, nl in pairs if k == kind and nl == script]
            if not sel:
                continue
            js = np.array([_jac(sets[a], sets[b]) for a, b in sel])
            found = np.mean([(a, b) in ours for a, b in sel])
            row = {"pairs": len(sel), "jaccard_mean": round(float(js.mean()), 3),
                   "jaccard_p10": round(float(np.percentile(js, 10)), 3),
                   "expected": round(float(np.mean(candidate_probability(js))), 3),
                   "found_ours": round(float(found), 3)}
            if theirs is not None:
                row["found_datasketch"] = round(float(np.mean([(a, b) in theirs for a, b in sel])), 3)
            out[f"{kind}{'_nonlatin' if script else ''}"] = row
    # every pair inside a group (an original and its variants): detection by Jaccard bin
    size = len(VARIANTS) + 1
    groups = [list(range(g, g + size)) for g in range(0, len(texts), size)]
    inside = [(a, b) for g in groups for i, a in enumerate(g) for b in g[i + 1:]]
    js = np.array([_jac(sets[a], sets[b]) for a, b in inside])
    bins = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01]
    by_bin = []
    for lo, hi in zip(bins, bins[1:]):
        sel = [(p, j) for p, j in zip(inside, js) if lo <= j < hi]
        if not sel:
            continue
        row = {"bin": f"{lo:.2f}-{min(hi, 1):.2f}", "pairs": len(sel),
               "expected": round(float(np.mean(candidate_probability([j for _, j in sel]))), 3),
               "ours": round(float(np.mean([p in ours for p, _ in sel])), 3)}
        if theirs is not None:
            row["datasketch"] = round(float(np.mean([p in theirs for p, _ in sel])), 3)
        by_bin.append(row)
    group_of = {i: i // size for i in range(len(texts))}
    across = [(a, b) for a, b in ours if group_of[a] != group_of[b]]
    across_j = [_jac(sets[a], sets[b]) for a, b in across]
    agree = {}
    if theirs is not None:
        theirs = {(min(a, b), max(a, b)) for a, b in theirs}
        diff = ours ^ theirs
        dj = [_jac(sets[a], sets[b]) for a, b in diff]
        agree = {"ours": len(ours), "datasketch": len(theirs), "both": len(ours & theirs),
                 "only_one": len(diff),
                 "only_one_jaccard_range": [round(min(dj, default=0), 3), round(max(dj, default=0), 3)],
                 "pairs_J_over_0.9_both_found": bool(all((p in ours) and (p in theirs)
                                                         for p, j in zip(inside, js) if j >= 0.9))}
    print(f"\nnear-duplicates of real pages ({len(base)} originals, {len(non_latin)} non-Latin UDHR), "
          f"14x8 bands:")
    print(f"  {'variant':28s} {'pairs':>5s} {'J mean':>7s} {'J p10':>6s} {'P(curve)':>8s} {'ours':>6s} {'datasketch':>10s}")
    for k, r in out.items():
        print(f"  {k:28s} {r['pairs']:5d} {r['jaccard_mean']:7.3f} {r['jaccard_p10']:6.3f} {r['expected']:8.3f} "
              f"{r['found_ours']:6.3f} {r.get('found_datasketch', float('nan')):10.3f}")
    print(f"  all {len(inside)} pairs inside groups (original + variants), found by Jaccard bin:")
    for r in by_bin:
        print(f"    J {r['bin']}  {r['pairs']:5d} pairs  curve {r['expected']:.3f}  ours {r['ours']:.3f}  "
              f"datasketch {r.get('datasketch', float('nan')):.3f}")
    print(f"  candidate pairs across different originals: {len(across)}"
          + (f" (their Jaccard {min(across_j):.3f} to {max(across_j):.3f}: real near-duplicates in the corpus)"
             if across else ""))
    if agree:
        print(f"  ours vs datasketch MinHashLSH candidate pairs on the same shingles: {agree}")
    return {"variants": out, "by_jaccard": by_bin, "across_originals": len(across),
            "across_min_jaccard": round(min(across_j), 3) if across else None, "vs_datasketch_pairs": agree}


def clough_stevenson(data: Path) -> dict | None:
    folder = data / "near_duplicates" / "clough_stevenson_plagiarism"
    if not folder.exists():
        return None

    def read(p):
        b = p.read_bytes()
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return b.decode("cp1252")

    rows = [line.split(",") for line in (folder / "file_information.csv").read_text().split("\n")[1:] if line.strip()]
    origs = {t: read(folder / f"orig_task{t}.txt") for t in "abcde"}
    texts = [origs[t] for t in "abcde"] + [read(folder / f) for f, _, _ in rows]
    ours, sets = _ours_candidates(texts)
    theirs = _datasketch_candidates(sets)
    # clusters as minhash_dedup forms them (connected components over all candidate pairs)
    parent = list(range(len(texts)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in ours:
        parent[find(a)] = find(b)
    out = {}
    for cat in ("cut", "light", "heavy", "non"):
        idx = [(i + 5, "abcde".index(t)) for i, (_, t, c) in enumerate(rows) if c.strip() == cat]
        js = [_jac(sets[i], sets[o]) for i, o in idx]
        out[cat] = {"answers": len(idx), "jaccard_mean": round(float(np.mean(js)), 3),
                    "jaccard_max": round(float(np.max(js)), 3),
                    "removed_with_source": int(sum(find(i) == find(o) for i, o in idx)),
                    "candidate_ours": int(sum((min(i, o), max(i, o)) in ours for i, o in idx))}
        if theirs is not None:
            out[cat]["candidate_datasketch"] = int(sum(((o, i) in theirs) or ((i, o) in theirs) for i, o in idx))
    print("\nClough-Stevenson (answers vs their Wikipedia source), 14x8 bands:")
    for cat, r in out.items():
        print(f"  {cat:6s} {r['answers']:3d} answers  J mean {r['jaccard_mean']:.3f} max {r['jaccard_max']:.3f}  "
              f"clustered with source: ours {r['removed_with_source']}/{r['answers']}"
              + (f", datasketch candidates {r['candidate_datasketch']}" if "candidate_datasketch" in r else ""))
    return out


# -- Ray runs ---------------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class WorkerPeak:
    """Polls the peak RSS (VmHWM) of ray::ShardWorker processes started by this process."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for p in _descendants(os.getpid()):
                try:
                    cmd = open(f"/proc/{p}/cmdline", "rb").read()
                    if b"ShardWorker" not in cmd:
                        continue
                    for line in open(f"/proc/{p}/status"):
                        if line.startswith("VmHWM:"):
                            self.peak = max(self.peak, int(line.split()[1]) * 1024)
                except OSError:
                    pass
            self._stop.wait(0.2)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def clueweb(data: Path) -> dict | None:
    from curation.config import parse_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.status import run_status

    warc = data / "raw_web" / "warc" / "clueweb_ja_shop_pages.warc.gz"
    if not warc.exists():
        warc = ROOT / "sample" / "warc" / "clueweb_ja_shop_pages.warc.gz"
    pipeline = {"name": "clueweb", "input": {"batch_docs": 50},
                "stages": [{"op": "extract"}, {"op": "url_dedup"}, {"op": "minhash_dedup"}, {"op": "line_dedup"}]}
    out = Path(tempfile.mkdtemp(prefix="bench-dedup-clueweb-"))
    try:
        run_pipeline(parse_pipeline(pipeline), [str(warc)], str(out / "run"), RunOptions(workers=2, progress=False))
        st = run_status(out / "run")["stages"]
        import pyarrow.parquet as pq
        from curation.dedup.text import line_hashes, split_lines

        before = pq.read_table(out / "run" / "03-minhash_dedup")
        lines = split_lines(before.column("text"))
        _, _, blank = line_hashes(lines)
        after = pq.read_table(out / "run" / "04-line_dedup")
        removed = int(np.sum(after.column("lines_removed").to_numpy()))
        rej_removed = 0
        for f in (out / "run" / "rejected" / "line_dedup").glob("*.parquet"):
            t = pq.read_table(f)
            rej_removed += int(np.sum(t.column("lines_removed").to_numpy()))
        res = {s: {"in": st[s]["in"], "rejected": st[s]["rejected"], "reasons": st[s]["reasons"]}
               for s in ("extract", "url_dedup", "minhash_dedup", "line_dedup")}
        res["lines"] = {"non_blank_before": int((~blank).sum()), "removed": removed + rej_removed,
                        "chars_before": int(sum(len(t) for t in before.column("text").to_pylist())),
                        "chars_after": int(sum(len(t) for t in after.column("text").to_pylist()))}
        print("\nClueWeb Japanese shop pages (extract + url_dedup + minhash_dedup + line_dedup, defaults):")
        for s in ("extract", "url_dedup", "minhash_dedup", "line_dedup"):
            print(f"  {s:14s} in {res[s]['in']:3d} rejected {res[s]['rejected']:3d} {res[s]['reasons']}")
        ln = res["lines"]
        print(f"  line_dedup removed {ln['removed']} of {ln['non_blank_before']} non-blank lines; "
              f"kept text {ln['chars_after']} of {ln['chars_before']} characters")
        return res
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _write_scaled(docs: list[dict], k: int, path: Path) -> tuple[int, int]:
    rng = random.Random(k)
    n = size = 0
    with open(path, "w") as f:
        for c in range(k):
            for i, d in enumerate(docs):
                text = d["text"] if c == 0 else perturb(d["text"], rng, change=0.05, boilerplate=1)
                url = d["url"] if c == 0 else f"https://copy{c}.example/doc/{i}"
                f.write(json.dumps({"id": f"{c}-{i}", "url": url, "text": text}, ensure_ascii=False) + "\n")
                n += 1
                size += len(text.encode())
    return n, size


def phase_memory(cfg, inputs: list[str], out: Path) -> dict:
    """Runs the pipeline's phases in this process with the engine's ShardWorker (no Ray) and
    measures the peak extra RSS of each phase call, plus spill bytes."""
    from curation.engine import runner as R
    from curation.engine.plan import plan_groups
    from curation.engine.worker import ShardWorker
    from curation.io.sources import plan_shards
    from curation.operators import operator_class
    from curation.run.commit import committed
    from curation.run.layout import SPILL

    layout = R.RunLayout(out)
    shards = plan_shards(inputs, cfg.input.shard_max_bytes)
    R._check_or_write_run_json(layout, R._run_record(cfg, inputs, shards))
    w = ShardWorker(cfg.model_dump(mode="json"), str(out))
    peaks: dict[str, int] = {}
    spill: dict[str, int] = {}

    import tracemalloc

    tracemalloc.start()

    def measure(name, fn, *args):
        # numpy and Python allocations (tracemalloc sees numpy's buffers); Arrow's own buffers
        # (text columns, dictionaries) come on top; RSS is too noisy with allocator caching
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn(*args)
        peaks[name] = max(peaks.get(name, 0), tracemalloc.get_traced_memory()[1] - base)

    for g in plan_groups(cfg):
        if g.kind == "map":
            for s in shards:
                w.run_map(g.index, s)
            continue
        stage = g.stages[0].name
        prev = plan_groups(cfg)[g.index - 1]
        cls = operator_class(g.stages[0].op)
        pos = R._positions(layout, prev, shards) if cls.wants_positions else {}
        n_parts = R.MIN_PARTS
        for s in shards:
            measure(f"{stage}:collect", w.collect, g.index, s, n_parts, pos.get(s.index))
        spill[f"{stage}:collect"] = sum(i.size for i in committed(layout.fs, layout.collect_dir(stage), suffix=SPILL))
        source = "collect"
        for r in range(cls.max_rounds):
            changed = False
            for p in range(n_parts):
                measure(f"{stage}:rounds", w.iterate, g.index, p, r, n_parts, len(shards))
            folder = layout.round_dir(stage, r)
            spill[f"{stage}:round-{r}"] = sum(i.size for i in committed(layout.fs, folder, suffix=SPILL))
            changed = any(R._changed(layout, layout.round_part(stage, r, p)) for p in range(n_parts))
            source = folder.rsplit("/", 1)[-1]
            if not changed:
                break
        for p in range(n_parts):
            measure(f"{stage}:combine", w.combine, g.index, p, source, n_parts, len(shards))
        for s in shards:
            measure(f"{stage}:apply", w.apply, g.index, s, n_parts, pos.get(s.index))
    tracemalloc.stop()
    return {"peak_bytes": peaks, "spill_bytes": spill}


def scaling(docs: list[dict], factors=(1, 4, 16)) -> dict:
    from curation.config import parse_pipeline
    from curation.engine.runner import RunOptions, run_pipeline

    import ray

    base = [d for d in docs if d["source"] != "udhr"] + [d for d in docs if d["source"] == "udhr"][:200]
    pipeline = {"name": "scale", "input": {"shard_max_bytes": 1 << 20, "batch_docs": 200},
                "stages": [{"op": "url_dedup"}, {"op": "minhash_dedup"}, {"op": "line_dedup"}]}
    cfg = parse_pipeline(pipeline)
    res = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-dedup-scale-"))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        print("\nscaling: url_dedup + minhash_dedup + line_dedup on Ray, 2 workers (copies: 5% words changed):")
        for k in factors:
            folder = tmp / f"in{k}"
            folder.mkdir()
            n, size = _write_scaled(base, k, folder / "docs.jsonl")
            t0 = time.perf_counter()
            with WorkerPeak() as wp:
                run_pipeline(cfg, [str(folder)], str(tmp / f"run{k}"), RunOptions(workers=2, progress=False))
            wall = time.perf_counter() - t0
            from curation.status import run_status

            st = run_status(tmp / f"run{k}")["stages"]
            mem = phase_memory(cfg, [str(folder)], tmp / f"mem{k}")
            res[f"{k}x"] = {"docs": n, "MB": round(size / 1e6, 1), "wall_s": round(wall, 1),
                            "docs_s": round(n / wall), "worker_peak_rss_MB": round(wp.peak / 1e6),
                            "removed": {s: st[s]["rejected"] for s in ("url_dedup", "minhash_dedup", "line_dedup")},
                            "phase_heap_peak_MB": {p: round(v / 1e6, 1) for p, v in mem["peak_bytes"].items()},
                            "spill_bytes_per_doc": {p: round(v / n, 1) for p, v in mem["spill_bytes"].items()}}
            r = res[f"{k}x"]
            print(f"  {k:2d}x {n:6d} docs {r['MB']:6.1f} MB  wall {wall:6.1f} s  ({r['docs_s']} docs/s)  "
                  f"worker peak RSS {r['worker_peak_rss_MB']} MB  removed {r['removed']}")
            print(f"      phase heap peak MB {r['phase_heap_peak_MB']}")
            print(f"      spill bytes/doc {r['spill_bytes_per_doc']}")
            shutil.rmtree(tmp / f"run{k}", ignore_errors=True)
            shutil.rmtree(tmp / f"mem{k}", ignore_errors=True)
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--datatrove-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.datatrove_child:
        print(json.dumps(datatrove_child(args.datatrove_child, args.repeats)))
        return
    docs = load_corpus(args.data)
    head = {"throughput": throughput(docs, args.repeats)}
    head["synthetic"] = synthetic(docs)
    head["clough_stevenson"] = clough_stevenson(args.data)
    head["clueweb"] = clueweb(args.data)
    if not args.skip_scaling:
        head["scaling"] = scaling(docs)
    print(json.dumps(head))


if __name__ == "__main__":
    main()
