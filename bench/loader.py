"""Loader throughput, text path vs token path, side by side on the same run: tokens/s of
``TrainLoader.next_batches`` alone (no model), then what one GPU consumes for the 1B flavour.

    python bench/loader.py                                    # a run built here from the bundled sample text
    python bench/loader.py --manifest runs/sample/manifest.json --seq-len 4096 --batch 16

Both paths read the same run: the text path tokenizes ``mix/`` Parquet text on the fly (every
data-parallel rank tokenizes the whole global batch); the token path slices memory-mapped token
files in the index's order (``tokens/``). Each is timed for ``--seconds`` after one untimed warm-up
step, alternately, ``--rounds`` times; the medians are compared. ``--dp`` also times one rank of a
``dp``-way job: the text path still tokenizes every window, the token path reads its slice only.

The GPU figure: FLOPs per token of the 1B flavour (``curation/train/metrics.py``, PaLM's 6N + 12LHS
at ``--seq-len``, Llama 3's 128,256 vocabulary) at ``--mfu`` (0.40: the Llama 3 report's 38-43% on
H100s, Table 4) of an H100/H200's 989 TFLOP/s dense bf16 peak (NVIDIA H100 SXM datasheet).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

H100_BF16_PEAK = 989e12  # NVIDIA H100 SXM / H200 dense bf16 tensor-core FLOP/s (no sparsity)
LLAMA3_VOCAB = 128256


def build_run(root: Path, tokenizer_path: str, copies: int) -> Path:
    """A run folder from the bundled sample text: mix/ and anneal/ Parquet text (the text path's
    input), tokens/ from the tokenize stage's phases (the token path's), and the manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.engine.tokenize_local import tokenize_tables, with_token_counts
    from curation.tokenizer import load_tokenizer

    rows = []
    for f in sorted((ROOT / "sample" / "text").glob("*.jsonl.gz")):
        for line in gzip.open(f, "rt", encoding="utf-8"):
            d = json.loads(line)
            if d.get("text"):
                rows.append({"id": f"{f.name}/{d['id']}", "text": d["text"], "domain": "general"})
    t = pa.Table.from_pylist(rows)
    t = t.append_column("mix_copies", pa.array([copies] * t.num_rows, pa.int32()))
    t = t.append_column("anneal", pa.array([False] * t.num_rows))
    t = with_token_counts(t, load_tokenizer(tokenizer_path))
    (root / "mix").mkdir(parents=True)
    files = []
    for c in range(copies):  # the text path reads the same documents, as often as the mix repeats them
        rel = f"mix/part-{c:05d}.parquet"
        pq.write_table(t.select(["id", "text", "domain", "tokens"]), root / rel, row_group_size=256)
        files.append(rel)
    tok = int(sum(t.column("tokens").to_pylist())) * copies
    manifest = {"format": "curation.mix/1", "text_column": "text", "tokenizer": tokenizer_path,
                "mix": {"files": files, "documents": {"general": t.num_rows * copies}, "tokens": {"general": tok}},
                "anneal": {"files": [], "documents": {}, "tokens": {}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    half = t.num_rows // 2
    tokenize_tables(root, [t.slice(0, half), t.slice(half)], tokenizer_path, parts=4, batch=500)
    return root / "manifest.json"


def time_loader(make, seconds: float, tokens_per_call: int) -> float:
    loader = make()
    loader.next_batches()  # warm-up: open files, first index part
    n, t0 = 0, time.perf_counter()
    while True:
        loader.next_batches()
        n += tokens_per_call
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n / dt


def gpu_tokens_per_s(seq_len: int, mfu: float) -> tuple[float, int]:
    import torch

    from curation.train.metrics import flops_per_token
    from curation.train.model import Transformer, count_params, model_args

    a = model_args("1B", LLAMA3_VOCAB, seq_len)
    with torch.device("meta"):
        m = Transformer(a, "sdpa", True)
    _, non_emb = count_params(m)
    fpt = flops_per_token(non_emb, a.n_layers, a.n_heads, a.head_dim, seq_len)
    return mfu * H100_BF16_PEAK / fpt, fpt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", help="a run with mix/ text and tokens/ (default: build one from sample/text)")
    p.add_argument("--tokenizer", help="tokenizer for the text path (default: the manifest's)")
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--batch", type=int, default=8, help="global batch (sequences per step)")
    p.add_argument("--dp", type=int, default=8, help="also time one rank of a dp-way job")
    p.add_argument("--copies", type=int, default=4, help="mix copies of each sample document in the built run")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per measurement")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mfu", type=float, default=0.40)
    a = p.parse_args()

    from curation.train.data import Manifest, TrainLoader
    from curation.tokenizer import load_tokenizer

    tmp = None
    if a.manifest:
        manifest = Path(a.manifest)
    else:
        from curation.classifiers import models_dir as md

        tok_path = str(md.ensure(None, ("tokenizer",)) / md.TOKENIZER)
        tmp = tempfile.TemporaryDirectory(prefix="bench-loader-")
        manifest = build_run(Path(tmp.name) / "run", tok_path, a.copies)
    m = Manifest(manifest)
    tok = load_tokenizer(a.tokenizer or m.raw["tokenizer"])
    need = a.seq_len + 1
    step_tokens = a.batch * need
    local = a.batch // a.dp

    def make(source: str, dp_rank: int = 0, dp: int = 1):
        return lambda: TrainLoader(m, tok if source == "text" else None, a.seq_len, a.batch, dp_rank, dp, 1, ("mix",), source)

    res: dict[str, list[float]] = {"text": [], "tokens": [], "text_rank": [], "tokens_rank": []}
    for _ in range(a.rounds):
        res["text"].append(time_loader(make("text"), a.seconds, step_tokens))
        res["tokens"].append(time_loader(make("tokens"), a.seconds, step_tokens))
        if local:  # one rank of dp: tokens of the global stream that rank gets per second
            res["text_rank"].append(time_loader(make("text", a.dp - 1, a.dp), a.seconds, local * need))
            res["tokens_rank"].append(time_loader(make("tokens", a.dp - 1, a.dp), a.seconds, local * need))
    med = {k: statistics.median(v) for k, v in res.items() if v}
    gpu, fpt = gpu_tokens_per_s(a.seq_len, a.mfu)
    total = Manifest(manifest).raw["tokens"]["mix"]["tokens"]
    print(f"run: {manifest} ({sum(total.values())} mix tokens), seq_len {a.seq_len}, batch {a.batch}")
    print(f"text path:   {med['text']:>14,.0f} tokens/s")
    print(f"token path:  {med['tokens']:>14,.0f} tokens/s   ({med['tokens'] / med['text']:.1f}x the text path)")
    if local:
        print(f"one rank of dp={a.dp}: text {med['text_rank']:,.0f} tokens/s, tokens {med['tokens_rank']:,.0f} tokens/s "
              f"({med['tokens_rank'] / med['text_rank']:.1f}x)")
    print(f"one H100/H200 training the 1B flavour at {a.mfu:.0%} MFU consumes {gpu:,.0f} tokens/s "
          f"({fpt / 1e9:.2f} GFLOP/token at seq_len {a.seq_len}); the token path is {med['tokens'] / gpu:.0f}x that")
    out = {
        "bench": "loader", "seq_len": a.seq_len, "batch": a.batch, "dp": a.dp,
        "text_tokens_per_s": round(med["text"]), "token_tokens_per_s": round(med["tokens"]),
        "ratio": round(med["tokens"] / med["text"], 1),
        "gpu_1b_tokens_per_s": round(gpu), "token_over_gpu": round(med["tokens"] / gpu, 1),
    }
    if local:
        out["rank_ratio"] = round(med["tokens_rank"] / med["text_rank"], 1)
    print(json.dumps(out))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
