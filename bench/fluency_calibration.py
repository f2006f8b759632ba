"""Where the fluency and per-domain heuristics thresholds of pipelines/llama3.yaml come from.

Measures every fluency signal (curation.text.fluency) and runs the pipeline's `language`,
`heuristics` and `fluency` settings on real text from ../shared/data and on junk generated here from
that same text (a different generator from curation/evaluation/junk_corpus.py, on purpose):

  real:  WikiText-2 test articles, Article Extraction Benchmark news bodies, CCNet documents,
         GSM8K train worked answers (problems 1000-1999), every UDHR translation over 1,500
         characters, Python source of installed packages (click, idna: BSD-3-Clause), and the web
         pages of ../shared/data as the pipeline's extract stage reads them (AEB pages, trafilatura's
         evaluation pages, Readability's test pages, trafilatura's unannotated pages);
  junk:  random letter strings, word salad (unigram draws from WikiText + news), the same articles
         shuffled, order-1 and order-2 word Markov chains over WikiText + news, UDHR and news whose
         UTF-8 was decoded as cp1252 / Latin-1; and the junk kinds of curation/evaluation/junk_corpus.py
         (seed 1, 60 pages a kind: not the seed the tests use), extracted like the web pages.

"real articles kept" in the last line: the share of the real prose sets (not code, math, UDHR) that
heuristics and fluency both keep; "junk removed": the share of junk pages either removes.

Readability's hand-made edge cases (sources under 8,000 bytes: lorem-ipsum and one-line test pages)
are not real articles and are left out (issue 23; before, they counted as 28 real pages).

Prints per set the 2nd/50th/98th percentiles of each signal and the share each pipeline stage keeps,
then, per rule, how many real articles it drops (by set, with the measured values its ``detail``
names); the last line is one JSON object. Usage:

    .venv/bin/python bench/fluency_calibration.py [--shared ../shared/data]
    .venv/bin/python bench/fluency_calibration.py --published-prose-rules   # the heuristics before issue 23
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.io.charset import decode_page  # noqa: E402
from curation.operators import ready  # noqa: E402
from curation.operators.extract import Extract  # noqa: E402
from curation.operators.fluency import Fluency  # noqa: E402
from curation.operators.heuristics import Heuristics  # noqa: E402
from curation.operators.language import Language  # noqa: E402

#: Readability's hand-made edge cases ("001", "basic-tags-cleaning", lorem-ipsum pages) are tiny
#: synthetic pages, not real articles; real cases' sources are bigger (the cut of bench/quality.py)
MIN_READABILITY_BYTES = 8_000


def real_sets(shared: Path) -> dict[str, list[str]]:
    wt = gzip.open(shared / "wikipedia_reference/wikitext-2-raw/wiki.test.raw.gz", "rt").read().replace("\r", "")
    out = {"wikitext": [a for a in re.split(r"\n(?= = [^=])", wt) if len(a.split()) > 200]}
    gt = json.load(open(shared / "html_extraction/scrapinghub_aeb/ground-truth.json"))
    out["news"] = [v["articleBody"] for v in gt.values() if len(v["articleBody"].split()) > 80]
    out["ccnet"] = [json.loads(l)["text"] for l in gzip.open(shared / "raw_web/ccnet_text/cc_en_head-0091.jsonl.gz", "rt")]
    tr = [json.loads(l) for l in gzip.open(shared / "domain_samples/math/gsm8k_train.jsonl.gz", "rt")]
    out["gsm8k"] = [r["question"] + "\n" + r["answer"] for r in tr[1000:2000]]
    ud = [json.loads(l) for l in gzip.open(shared / "domain_samples/multilingual/udhr/udhr.jsonl.gz", "rt")]
    out["udhr"] = [r["text"] for r in ud if len(r["text"]) > 1500]
    code = []
    for pkg in ("click", "idna"):
        mod = __import__(pkg)
        for f in sorted(glob.glob(os.path.join(os.path.dirname(mod.__file__), "*.py"))):
            text = open(f, encoding="utf-8").read()
            if len(text) > 2000:
                code.append(text[:20000])
    out["code"] = code
    return out


def web_sets(shared: Path) -> dict[str, list[str]]:
    """The real web pages of ../shared/data, decoded and extracted as the pipeline does."""
    ex = Extract({})
    ex.setup()

    def text(path: Path, url=None) -> str | None:
        return ex.extract_one(decode_page(gzip.open(path, "rb").read())[0], url)[0]

    h = shared / "html_extraction"
    gt = json.load(open(h / "scrapinghub_aeb/ground-truth.json"))
    ev = json.load(open(h / "trafilatura_eval/evaldata.json"))
    out = {"aeb_pages": [text(h / f"scrapinghub_aeb/html/{k}.html.gz", v["url"]) for k, v in gt.items()],
           "trafilatura_pages": [text(h / "trafilatura_eval/html" / (v["file"] + ".gz"), u) for u, v in ev.items()],
           "readability_pages": [text(d / "source.html.gz") for d in sorted((h / "mozilla_readability").iterdir())
                                 if (d / "source.html.gz").is_file()
                                 and len(gzip.open(d / "source.html.gz").read()) >= MIN_READABILITY_BYTES],
           "unannotated_pages": [text(p) for p in sorted((shared / "raw_web/trafilatura_unannotated_pages").glob("*.gz"))]}
    return {k: [t for t in v if t] for k, v in out.items()}


def junk_corpus_sets(per_kind: int = 60, seed: int = 1) -> dict[str, list[str]]:
    """The junk kinds of curation/evaluation/junk_corpus.py (a seed the tests do not use), extracted."""
    from curation.evaluation import junk_corpus

    ex = Extract({})
    ex.setup()
    docs, _ = junk_corpus.generate(per_kind, seed, kinds=junk_corpus.JUNK_KINDS)
    out: dict[str, list[str]] = collections.defaultdict(list)
    for d in docs:
        t = (d.body.decode("utf-8") if d.ctype.startswith("text/plain")
             else ex.extract_one(decode_page(d.body, "utf-8")[0], d.url)[0])
        if t:
            out[f"tq_{d.kind}"].append(t)
    return dict(out)


def junk_sets(real: dict[str, list[str]], seed: int = 0) -> dict[str, list[str]]:
    rng = random.Random(seed)
    pool = " ".join(real["wikitext"] + real["news"]).split()
    out = {"random_tokens": [" ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
                                      for _ in range(rng.randint(150, 400))) for _ in range(60)],
           "word_salad": [" ".join(rng.choice(pool) for _ in range(rng.randint(150, 500))) for _ in range(60)]}
    shuffled = []
    for t in real["news"][:60]:
        w = t.split()
        rng.shuffle(w)
        shuffled.append(" ".join(w))
    out["shuffled_articles"] = shuffled
    for order in (1, 2):
        nxt = collections.defaultdict(list)
        for i in range(len(pool) - order):
            nxt[tuple(pool[i:i + order])].append(pool[i + order])
        keys = sorted(nxt)
        docs = []
        for _ in range(60):
            w = list(rng.choice(keys))
            while len(w) < rng.randint(150, 500):
                cand = nxt.get(tuple(w[-order:]))
                w += [rng.choice(cand)] if cand else list(rng.choice(keys))
            docs.append(" ".join(w))
        out[f"markov_{order}"] = docs
    latin = [t for t in real["udhr"] if sum(not c.isascii() and c.isalpha() for c in t) > 0.02 * len(t)
             and sum(c.isascii() for c in t) > 0.8 * len(t)]
    out["mojibake"] = ([t.encode("utf-8").decode("cp1252", errors="replace") for t in latin[:40]]
                       + [t.encode("utf-8").decode("latin-1") for t in real["news"][:20]])
    return out


def pipeline_ops():
    stages = {s["op"]: {k: v for k, v in s.items() if k != "op"}
              for s in yaml.safe_load((ROOT / "pipelines" / "llama3.yaml").read_text())["stages"]}
    return ready(Language(stages["language"])), ready(Heuristics(stages["heuristics"])), ready(Fluency(stages["fluency"]))


#: the multilingual / undetermined overrides before issue 23 (general text: the published rules)
PUBLISHED_NON_EN = {"min_mean_word_len": None, "max_mean_word_len": None, "min_stop_words": None,
                    "min_line_punct_frac": None}

FLUENCY_REASONS = {"random_tokens", "unknown_words", "word_salad", "incoherent", "mojibake"}


def domain_of(name: str, lang: str) -> str:
    if name == "code":
        return "code"
    if name == "gsm8k":
        return "math"
    return "general" if lang == "en" else "undetermined" if lang == "und" else "multilingual"


#: lengths (words) at which the incoherent thresholds are measured on real articles cut to that length
CUT_WORDS = (100, 125, 150, 200, 250, 300)


def incoherent_by_length(flu: Fluency, texts: list[str]) -> dict:
    """The ``incoherent`` limits at shorter lengths: real articles cut to their first n words (those
    with at least 1.1 n), and at each n the unique_prefix_frac / content_recurrence percentiles that
    the calibrated limits (at ``ttr_words``, 300 words) are at 300 words; also the share of the cut
    articles that the fixed limits would put in the box, and that the operator's table puts there."""
    p = flu.params
    cut = {}
    for n in CUT_WORDS:
        heads = [" ".join(t.split()[:n]) for t in texts if len(t.split()) >= 1.1 * n]
        m = flu.measure(pa.table({"text": pa.array(heads, pa.large_string())}))
        cut[n] = (m["pair_recurrence"], m["unique_prefix_frac"], m["content_recurrence"], m["words"])
    pr, up, cr, _ = cut[p.ttr_words]
    q_up = float(np.mean(up <= p.incoherent_unique_prefix_frac))
    q_cr = float(np.mean(cr < p.max_content_recurrence))
    rows = {}
    for n, (pr, up, cr, words) in cut.items():
        up_max, cr_min = flu.incoherent_thresholds(words)
        with np.errstate(invalid="ignore"):
            fixed = (pr < p.min_pair_recurrence) & (up > p.incoherent_unique_prefix_frac) & (cr < p.max_content_recurrence)
            table = (pr < p.min_pair_recurrence) & (up > up_max) & (cr < cr_min)
        rows[n] = {"articles": len(up), "unique_prefix_frac": round(float(np.quantile(up, q_up)), 3),
                   "content_recurrence": round(float(np.nanquantile(cr, q_cr)), 3),
                   "in_box_fixed": round(float(fixed.mean()), 4), "in_box_table": round(float(table.mean()), 4)}
    return {"percentiles_at_300": {"unique_prefix_frac": round(q_up, 3), "content_recurrence": round(q_cr, 3)},
            "by_words": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--fluency", action="append", default=[], metavar="PARAM=VALUE",
                    help="override a fluency parameter (e.g. the rule before issue 23: "
                         "incoherent_unique_prefix_frac=0.65 max_content_recurrence=1)")
    ap.add_argument("--published-prose-rules", action="store_true",
                    help="heuristics as before issue 23: Gopher's / FineWeb's published thresholds for general text, "
                         "and for multilingual / undetermined text without only word length, stop words and line punctuation")
    ap.add_argument("--dropped", metavar="FILE.jsonl",
                    help="write every real article dropped (set, index, stage, reason, detail, text) to this file")
    args = ap.parse_args()
    real = real_sets(Path(args.shared))
    web = web_sets(Path(args.shared))
    tq = junk_corpus_sets()
    sets = {**real, **web, **junk_sets(real), **tq}
    articles = ["wikitext", "news", "ccnet", *web]
    junk = [k for k in sets if k not in real and k not in web]
    lang_op, heur, flu = pipeline_ops()
    if args.published_prose_rules:
        by_domain = {k: v for k, v in heur.params.by_domain.items() if k in ("code", "math")}
        by_domain.update({d: dict(PUBLISHED_NON_EN) for d in ("multilingual", "undetermined")})
        heur = ready(Heuristics({**heur.params.model_dump(), "by_domain": by_domain}))
    if args.fluency:
        flu = Fluency({**flu.params.model_dump(), **{k: yaml.safe_load(v) for k, v in
                                                      (a.split("=", 1) for a in args.fluency)}})
    summary = {}
    art_texts = [t for k in articles for t in sets[k]]
    by_len = incoherent_by_length(flu, art_texts)
    q = by_len["percentiles_at_300"]
    print(f"incoherent thresholds by length: the percentiles of real articles cut to n words that the limits are "
          f"at 300 words (unique_prefix_frac {q['unique_prefix_frac']:.3f}, content_recurrence "
          f"{q['content_recurrence']:.3f}); share of the cut articles in the box, fixed limits vs the operator's table")
    for n, r in by_len["by_words"].items():
        print(f"  {n:4d} words ({r['articles']:4d} articles): unique_prefix_frac > {r['unique_prefix_frac']:.3f}, "
              f"content_recurrence < {r['content_recurrence']:.3f}; in the box: fixed {r['in_box_fixed']:.2%}, "
              f"table {r['in_box_table']:.2%}")
    summary["incoherent_by_length"] = by_len
    signals = ("known_word_frac", "pair_excess", "pair_recurrence", "unique_word_frac", "unique_prefix_frac",
               "content_recurrence", "mojibake_rate", "mixed_script_rate")
    print(f"{'set':18s} {'n':>4s}  " + "  ".join(f"{s:>22s}" for s in signals) + "   lang  heur  flu  reasons")
    t_heur = t_flu = 0.0
    dropped: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)  # rule -> (set, detail) of real articles
    dump = open(args.dropped, "w") if args.dropped else None
    docs_timed = 0
    for name, docs in sets.items():
        t = pa.table({"id": [str(i) for i in range(len(docs))], "text": pa.array(docs, pa.large_string())})
        t = lang_op.process(t).kept
        t = t.append_column("domain", pa.array([domain_of(name, l) for l in t.column("lang").to_pylist()]))
        t0 = time.perf_counter()
        h = heur.process(t)
        t1 = time.perf_counter()
        f = flu.process(h.kept)
        t2 = time.perf_counter()
        t_heur += t1 - t0
        t_flu += t2 - t1
        docs_timed += len(docs)
        m = flu.measure(t)
        cells = []
        for s in signals:
            v = m[s][~np.isnan(m[s])]
            cells.append(f"{np.percentile(v, 2):6.2f}/{np.median(v):6.2f}/{np.percentile(v, 98):6.2f}" if len(v) else "-")
        reasons = collections.Counter(h.rejected.column("reason").to_pylist() + f.rejected.column("reason").to_pylist())
        if name in articles:
            for stage, r in (("heuristics", h.rejected), ("fluency", f.rejected)):
                for i, lang, reason, detail in zip(r.column("id").to_pylist(), r.column("lang").to_pylist(),
                                                   r.column("reason").to_pylist(), r.column("detail").to_pylist()):
                    dropped[reason].append((name, detail))
                    if dump:
                        dump.write(json.dumps({"set": name, "index": int(i), "lang": lang, "stage": stage, "reason": reason,
                                               "detail": detail, "text": docs[int(i)]}) + "\n")
        und = sum(l == "und" for l in t.column("lang").to_pylist())
        print(f"{name:18s} {len(docs):4d}  " + "  ".join(f"{c:>22s}" for c in cells)
              + f"  {und:4d}u {h.kept.num_rows / len(docs):5.1%} {f.kept.num_rows / len(docs):5.1%}  "
              + ", ".join(f"{k} {v}" for k, v in reasons.most_common(4)))
        summary[name] = {"n": len(docs), "kept_after_heuristics": round(h.kept.num_rows / len(docs), 4),
                         "kept_after_fluency": round(f.kept.num_rows / len(docs), 4), "und": und,
                         "reasons": dict(reasons)}
    print("(signal columns: 2nd / 50th / 98th percentile; lang: documents whose language is und)")
    print("\nreal articles dropped, per rule (heuristics, then fluency): pages, by set, and the measured values")
    for reason, hits in sorted(dropped.items(), key=lambda kv: -len(kv[1])):
        by_set = collections.Counter(s for s, _ in hits)
        print(f"  {reason:24s} {len(hits):3d}  " + ", ".join(f"{k} {v}" for k, v in by_set.most_common())
              + "  | " + "; ".join(d for _, d in hits[:3]) + ("; ..." if len(hits) > 3 else ""))
    summary["real_articles_dropped_by_rule"] = {k: len(v) for k, v in sorted(dropped.items(), key=lambda kv: -len(kv[1]))}
    n_art = sum(summary[k]["n"] for k in articles)
    kept_art = sum(round(summary[k]["kept_after_fluency"] * summary[k]["n"]) for k in articles)
    n_junk = sum(summary[k]["n"] for k in junk)
    left_junk = sum(round(summary[k]["kept_after_fluency"] * summary[k]["n"]) for k in junk)
    flu_lost = sum(sum(v for r, v in summary[k]["reasons"].items() if r in FLUENCY_REASONS) for k in articles)
    print(f"real articles kept by heuristics + fluency: {kept_art}/{n_art} = {kept_art / n_art:.1%} "
          f"(fluency's own rejections: {flu_lost}); junk removed: {n_junk - left_junk}/{n_junk} = "
          f"{1 - left_junk / n_junk:.1%}")
    summary["real_articles_kept"] = round(kept_art / n_art, 4)
    summary["real_articles_rejected_by_fluency"] = flu_lost
    summary["junk_removed"] = round(1 - left_junk / n_junk, 4)
    print(f"CPU per document on this machine: heuristics {1000 * t_heur / docs_timed:.2f} ms, "
          f"fluency {1000 * t_flu / docs_timed:.2f} ms")
    summary["ms_per_doc"] = {"heuristics": round(1000 * t_heur / docs_timed, 3),
                             "fluency": round(1000 * t_flu / docs_timed, 3)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
