"""Reference language model: how close a document is to reference text, as its bits per byte.

CCNet (Wenzek et al. 2020) scores every page by the perplexity of a language model trained on
Wikipedia, and "perplexity correlations" (Thrush et al. 2024, arXiv 2409.05816) picks pretraining
data by how a model's loss on it tracks benchmark scores. Here the model is this project's own
decoder (``curation.train.model``, the ``tiny`` shape by default) trained with the trainer's
optimizer and schedule on reference text the repository ships, and a document's score is minus its
bits per byte on the head of the text (``max_tokens`` tokens): higher = closer to the reference.

Reference text (``reference_texts``): the bundled classifier data of ``curation/data/classifiers``
that looks like what models are judged on - the ``hq`` rows of ``quality.jsonl.gz`` (WikiText-2
sections, news article bodies) and the training rows of ``domain.jsonl.gz`` for code (HumanEval,
Python standard-library functions), math (GSM8K train) and multilingual prose (UDHR translations,
news bodies; not the ``web text`` rows, which are the classifiers' random web pages). Any text
sharing a word 13-gram with ``curate evaluate``'s default eval suite is left out, so that the
held-out sets stay held out. One group in five (a seeded hash, as the other classifiers) is held
out of training and reported in the card.

The tokenizer is the models folder's ``tokenizer.json`` (the mix's, trained on the bundled data).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from curation.classifiers.common import AtomicDir, is_test, write_json
from curation.classifiers.reference_text import NOT_REFERENCE, reference_texts  # noqa: F401 (the text it is trained on)

MODEL_DIR = "reference_lm"
class ReferenceLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: the trainer's model shape; tiny (64 wide, 2 layers) scores a document in milliseconds on a CPU
    flavour: str = "tiny"
    seq_len: int = 256
    batch: int = 16
    #: optimizer steps: about 2 passes over the ~0.6M reference tokens at 16 x 256 a step
    steps: int = 300
    #: peak lr and warm-up: the trainer's defaults (curation.train.config)
    lr: float = 1e-3
    warmup_steps: int = 5
    seed: int = 0
    test_fraction: float = 0.2
    #: tokens of each document's head that are scored (as the quality stage's scorer)
    max_tokens: int = 256


def _pack(tok, texts: list[str], seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """[BOS] ids [EOS] of every text, concatenated and cut into windows of seq_len + 1 (+ doc ids)."""
    ids = [np.asarray(x, dtype=np.int64) for x in tok.encode_batch(texts)]
    stream = np.concatenate(ids)
    doc = np.repeat(np.arange(len(ids)), [len(x) for x in ids])
    n = len(stream) // (seq_len + 1)
    w = stream[: n * (seq_len + 1)].reshape(n, seq_len + 1)
    d = doc[: n * (seq_len + 1)].reshape(n, seq_len + 1)
    return w, d - d[:, :1]


def train(out_dir: Path, cfg: ReferenceLMConfig | None = None) -> dict:
    import torch

    from curation.classifiers import models_dir as md
    from curation.train.in_memory import new_model, train as train_loop
    from curation.train.config import TrainConfig
    from curation.train.schedule import Schedule
    from curation.tokenizer import load_tokenizer

    cfg = cfg or ReferenceLMConfig()
    root = Path(out_dir)
    tok_path = md.ensure(root, ("tokenizer",), quiet=True) / md.TOKENIZER
    tok = load_tokenizer(tok_path)
    rows = reference_texts()
    train_rows = [r for r in rows if not is_test(r["group"], cfg.seed, cfg.test_fraction)]
    test_rows = [r for r in rows if is_test(r["group"], cfg.seed, cfg.test_fraction)]
    rng = np.random.default_rng(cfg.seed)
    w, d = _pack(tok, [train_rows[i]["text"] for i in rng.permutation(len(train_rows))], cfg.seq_len)
    need = cfg.steps * cfg.batch
    reps = -(-need // len(w))
    order = np.concatenate([rng.permutation(len(w)) for _ in range(reps)])[:need]
    tc = TrainConfig(flavour=cfg.flavour, seq_len=cfg.seq_len, global_batch_size=cfg.batch, lr=cfg.lr,
                     warmup_steps=cfg.warmup_steps, device="cpu")
    sched = Schedule(steps=cfg.steps, peak_lr=cfg.lr, warmup_steps=min(cfg.warmup_steps, cfg.steps),
                     decay=tc.decay, min_lr_ratio=tc.min_lr_ratio)
    t0 = time.perf_counter()
    model = new_model(tc, tok.vocab_size, cfg.seed)
    res = train_loop(model, w[order], d[order], tc, sched, label="reference_lm", progress=None, seed=cfg.seed)
    seconds = time.perf_counter() - t0
    final = root / MODEL_DIR
    with AtomicDir(final) as tmp:
        torch.save(model.state_dict(), tmp / "model.pt")
        (tmp / "tokenizer.json").write_bytes(Path(tok_path).read_bytes())
        write_json(tmp / "config.json", {**cfg.model_dump(), "vocab_size": tok.vocab_size})
        scorer = ReferenceLM(tmp)
        held = {dom: float(-np.mean(scorer.score([r["text"] for r in test_rows if r["domain"] == dom])))
                for dom in sorted({r["domain"] for r in test_rows})}
        card = {
            "model": f"reference language model ({cfg.flavour} decoder of curation.train)",
            "data": "bundled reference text (curation/data/classifiers: hq rows, domain train rows; "
                    "no text sharing a 13-gram with the default eval suite)",
            "train": {"documents": len(train_rows), "windows": int(len(w)), "tokens": int(w.size),
                      "final_loss": round(float(np.mean(res.losses[-10:])), 4)},
            "held_out": {"documents": len(test_rows), "mean_bpb_by_domain": {k: round(v, 4) for k, v in held.items()}},
            "config": cfg.model_dump(),
            "train_seconds": round(seconds, 2),
        }
        write_json(tmp / "card.json", card)
    return card


class ReferenceLM:
    """Minus bits per byte of the head of each text under the reference LM (higher: closer)."""

    def __init__(self, path: str | Path, batch_size: int = 32, device: str = "cpu"):
        import torch

        from curation.train.model import Transformer, model_args
        from curation.tokenizer import load_tokenizer

        p = Path(path)
        c = json.loads((p / "config.json").read_text())
        self.tok = load_tokenizer(p / "tokenizer.json")
        self.max_tokens = int(c["max_tokens"])
        self.batch_size = batch_size
        self.device = torch.device(device)
        m = Transformer(model_args(c["flavour"], int(c["vocab_size"]), int(c["seq_len"])), "sdpa", False)
        m.load_state_dict(torch.load(p / "model.pt", map_location="cpu", weights_only=True))
        self.model = m.to(self.device).eval()
        self.seq_len = int(c["seq_len"])

    def score(self, texts: list[str]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        L = min(self.max_tokens, self.seq_len)
        out = np.full(len(texts), np.nan, dtype=np.float64)
        encs = self.tok.encode_batch([t or "" for t in texts])
        heads = [np.asarray(e[: L + 1], dtype=np.int64) for e in encs]
        for i in range(0, len(texts), self.batch_size):
            chunk = heads[i: i + self.batch_size]
            n = max(len(h) for h in chunk)
            rows = np.zeros((len(chunk), n), dtype=np.int64)
            mask = np.zeros((len(chunk), n - 1), dtype=bool)
            for j, h in enumerate(chunk):
                rows[j, : len(h)] = h
                mask[j, : len(h) - 1] = True
            with torch.no_grad():
                r = torch.from_numpy(rows).to(self.device)
                logits = self.model(r[:, :-1])
                nll = F.cross_entropy(logits.flatten(0, 1).float(), r[:, 1:].flatten(), reduction="none")
                nll = (nll.view(len(chunk), -1) * torch.from_numpy(mask).to(self.device)).sum(1).cpu().numpy()
            for j, h in enumerate(chunk):
                ids = [x for x in h[1:].tolist() if x not in (self.tok.bos_id, self.tok.eos_id)]
                nbytes = len(self.tok.decode(ids).encode("utf-8"))
                if nbytes and len(h) > 1:
                    out[i + j] = -nll[j] / math.log(2) / nbytes
        return out
