"""Check a `curate export-hf` folder against its training run: load it with
transformers.AutoModelForCausalLM, compare its logits with the project's model on the same tokens,
and compute its loss on the run's token shards, beside the trainer's last logged loss.

    python bench/export_hf_check.py TRAIN_OUT HF_DIR MANIFEST [--windows 32]

The last printed line is one JSON object: max_abs_logit_diff, hf_loss, trainer_last_loss, diff.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def token_windows(manifest: Path, seq_len: int, n: int) -> torch.Tensor:
    m = json.loads(manifest.read_text())
    t = m["tokens"]
    root = manifest.parent
    data = np.concatenate([np.fromfile(root / f["path"], dtype=t["dtype"]) for f in t["mix"]["files"]])
    step = max(1, (len(data) - seq_len - 1) // n)
    return torch.tensor(np.stack([data[i * step:i * step + seq_len + 1] for i in range(n)]).astype(np.int64))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("train_out")
    ap.add_argument("hf_dir")
    ap.add_argument("manifest")
    ap.add_argument("--windows", type=int, default=32)
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM

    from curation.train.checkpoint import latest_checkpoint, read_model_weights
    from curation.train.export_hf import model_args_of
    from curation.train.model import Transformer

    out = Path(a.train_out)
    ck = latest_checkpoint(out / "checkpoints")
    meta = json.loads((ck / "meta.json").read_text())
    w = read_model_weights(ck)
    ours = Transformer(model_args_of(w, meta), "sdpa", doc_masking=False)
    ours.load_state_dict(w, strict=True)
    ours.eval()
    hf = AutoModelForCausalLM.from_pretrained(a.hf_dir, dtype=torch.float32).eval()
    seq = int(meta["config"]["seq_len"])
    x = token_windows(Path(a.manifest), seq, a.windows)
    with torch.no_grad():
        lo = hf(input_ids=x[:, :-1]).logits
        diff = float((lo - ours(x[:, :-1])).abs().max())
        loss = float(F.cross_entropy(lo.flatten(0, 1), x[:, 1:].flatten()))
    last = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last_loss = float([r for r in last if "loss" in r][-1]["loss"])
    res = {"max_abs_logit_diff": diff, "hf_loss": round(loss, 4), "trainer_last_loss": round(last_loss, 4),
           "diff": round(abs(loss - last_loss), 4), "windows": a.windows, "seq_len": seq}
    print(f"transformers loaded {a.hf_dir}: loss {loss:.4f} on {a.windows} windows of the run's token shards; "
          f"trainer's last logged loss {last_loss:.4f}", file=sys.stderr)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
