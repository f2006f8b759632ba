"""Scorer throughput, side by side in one process: docs/s per core of the fastText quality and domain
models beside the RoBERTa-architecture scorer (the tiny trained one, and a DistilRoBERTa-size
configuration: 6 layers, hidden 768, random weights - throughput does not depend on the weights),
on one CPU thread, and on the GPU when one is present.

    .venv/bin/python bench/score.py [--models DIR] [--docs N] [--max-tokens 256]

Models missing from DIR are trained first (bundled data). Texts: the bundled classifier data (real
web, news, Wikipedia, math, code and multilingual text). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def rate(fn, texts, repeat=1):
    fn(texts[: min(16, len(texts))])  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn(texts)
    return repeat * len(texts) / (time.perf_counter() - t0)


def main() -> int:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=None)
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--max-tokens", type=int, default=256)
    args = ap.parse_args()

    from curation.classifiers import models_dir as md
    from curation.classifiers.common import bundled, read_jsonl
    from curation.classifiers.domain import DomainClassifier
    from curation.classifiers.quality_fasttext import FastTextQuality
    from curation.classifiers.roberta import RobertaScorer

    root = md.ensure(args.models, ("quality_fasttext", "quality_roberta", "domain"))
    rows = read_jsonl(bundled("domain.jsonl.gz"))
    texts = [r["text"] for r in rows][:: max(1, len(rows) // args.docs)][: args.docs]
    torch.set_num_threads(1)
    res = {"docs": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts)), "max_tokens": args.max_tokens,
           "torch_threads": 1}
    ft = FastTextQuality(root / md.QUALITY_FASTTEXT)
    dom = DomainClassifier(root / md.DOMAIN)
    res["fasttext_quality_docs_per_s_core"] = round(rate(ft.score, texts, 5), 1)
    res["fasttext_domain_docs_per_s_core"] = round(rate(lambda t: dom.predict(t), texts, 5), 1)
    tiny = RobertaScorer(root / md.QUALITY_ROBERTA, max_tokens=args.max_tokens, device="cpu")
    res["roberta_tiny_cpu_docs_per_s_core"] = round(rate(tiny.score, texts), 1)

    # DistilRoBERTa-size (6 x 768) with the tiny model's tokenizer, random weights
    from transformers import RobertaConfig, RobertaForSequenceClassification

    with tempfile.TemporaryDirectory() as d:
        conf = RobertaConfig(vocab_size=50265, hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
                             intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, num_labels=1,
                             pad_token_id=tiny.tokenizer.pad_token_id)
        torch.manual_seed(0)
        RobertaForSequenceClassification(conf).save_pretrained(d)
        tiny.tokenizer.save_pretrained(d)
        big = RobertaScorer(Path(d), max_tokens=args.max_tokens, device="cpu")
        sub = texts[: max(32, len(texts) // 4)]
        res["distilroberta_size_cpu_docs_per_s_core"] = round(rate(big.score, sub), 2)
        if torch.cuda.is_available():
            res["gpu"] = torch.cuda.get_device_name(0)
            g_tiny = RobertaScorer(root / md.QUALITY_ROBERTA, max_tokens=args.max_tokens, device="cuda", batch_size=128)
            res["roberta_tiny_gpu_docs_per_s"] = round(rate(g_tiny.score, texts, 3), 1)
            g_big = RobertaScorer(Path(d), max_tokens=args.max_tokens, device="cuda", batch_size=128)
            res["distilroberta_size_gpu_docs_per_s"] = round(rate(g_big.score, texts, 3), 1)
            g_big.model.half()
            res["distilroberta_size_gpu_fp16_docs_per_s"] = round(rate(g_big.score, texts, 3), 1)
    res["ratio_fasttext_vs_distilroberta_cpu"] = round(
        res["fasttext_quality_docs_per_s_core"] / res["distilroberta_size_cpu_docs_per_s_core"], 1)
    for k, v in res.items():
        print(f"{k:45s} {v}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
