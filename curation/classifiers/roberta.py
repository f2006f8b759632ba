"""DistilRoBERTa-architecture quality scorer (Llama 3, 3.1.1): a RobertaForSequenceClassification
regressor (one output) distilled from a teacher's (text, score) pairs.

* Teacher, pluggable: by default the fastText quality model combined with heuristic signals
  (:func:`default_teacher`); or a Parquet/JSONL file of ``text`` + ``score`` produced by any model
  (Llama 3 used Llama 2's judgement) given with ``--teacher-labels``.
* Model: any local Hugging Face checkpoint given by path (for example a fine-tuned
  ``distilroberta-base``: 6 layers, hidden 768) is loaded with ``from_pretrained`` and fine-tuned;
  with no checkpoint, a tiny configuration (2 layers, hidden 128) and a byte-level BPE tokenizer
  are trained from scratch, offline, in seconds on a CPU.
* Inference: texts sorted by length and batched, truncated to ``max_tokens``, on the GPU when one is
  present.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from curation.classifiers.common import AtomicDir, auc, bundled, is_test, read_jsonl, without_eval, write_json

MODEL_DIR = "quality_roberta"


class RobertaConfigParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: local checkpoint folder to start from (e.g. distilroberta-base); None = tiny model from scratch
    init_checkpoint: str | None = None
    # tiny from-scratch configuration (DistilRoBERTa: 6 layers, hidden 768, 12 heads, 3072 FFN)
    layers: int = 2
    hidden: int = 128
    heads: int = 2
    intermediate: int = 256
    vocab_size: int = 2048
    max_tokens: int = 64  # truncation at training (seconds on a CPU); the operator's max_tokens applies at scoring
    epochs: int = 2
    batch_size: int = 32
    # AdamW lr: 2e-3 for a tiny from-scratch model; fine-tuning a checkpoint wants ~2e-5 (BERT paper)
    lr: float = 2e-3
    seed: int = 0
    test_fraction: float = 0.2
    threads: int = 1  # fixed CPU threads while training, so the weights are bit-identical run to run


# -- teacher -----------------------------------------------------------------------------------
_WORD = re.compile(r"\w+", re.UNICODE)


def heuristic_score(text: str) -> float:
    """Share of Gopher quality rules (Rae et al. 2021, appendix A) a text passes, in [0, 1]: 50-100k
    words, mean word length 3-10, symbol/word ratio < 0.1, < 90% of lines starting with a bullet,
    < 30% of lines ending with an ellipsis, >= 80% of words containing a letter."""
    words = text.split()
    n = len(words)
    if n == 0:
        return 0.0
    lines = [l for l in text.splitlines() if l.strip()] or [text]
    mean_len = sum(len(w) for w in words) / n
    symbols = text.count("#") + text.count("...") + text.count("\u2026")
    bullets = sum(l.lstrip().startswith(("-", "*", "\u2022")) for l in lines) / len(lines)
    ellipsis = sum(l.rstrip().endswith(("...", "\u2026")) for l in lines) / len(lines)
    alpha = sum(any(c.isalpha() for c in w) for w in words) / n
    rules = [50 <= n <= 100_000, 3 <= mean_len <= 10, symbols / n < 0.1, bullets < 0.9, ellipsis < 0.3, alpha >= 0.8]
    return sum(rules) / len(rules)


def default_teacher(texts: list[str], fasttext_model_dir: Path) -> np.ndarray:
    """0.7 x fastText p(reference-like) + 0.3 x share of Gopher rules passed (in [0, 1])."""
    from curation.classifiers.quality_fasttext import FastTextQuality

    ft = FastTextQuality(fasttext_model_dir).score(texts).astype(np.float64)
    heur = np.array([heuristic_score(t) for t in texts], np.float64)
    return (0.7 * ft + 0.3 * heur).astype(np.float32)


def load_teacher_labels(path: str) -> tuple[list[str], np.ndarray]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"teacher labels not found: {p}")
    if p.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        t = pq.read_table(p, columns=["text", "score"]).to_pylist()
    else:
        t = read_jsonl(p)
    rows = [(r["text"], float(r["score"])) for r in t if r.get("text") and r.get("score") is not None]
    if not rows:
        raise ValueError(f"{p}: no rows with 'text' and 'score'")
    return [r[0] for r in rows], np.array([r[1] for r in rows], np.float32)


# -- tokenizer and model -----------------------------------------------------------------------
def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE with RoBERTa's special tokens, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=tr)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>",
                                   model_max_length=512)


def _new_model(cfg: RobertaConfigParams, tokenizer):
    from transformers import RobertaConfig, RobertaForSequenceClassification

    conf = RobertaConfig(vocab_size=len(tokenizer), hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
                         num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate,
                         max_position_embeddings=max(cfg.max_tokens, 512) + 2, type_vocab_size=1,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, num_labels=1, problem_type="regression")
    return RobertaForSequenceClassification(conf)


def _load_checkpoint(path: str):
    from transformers import AutoTokenizer, RobertaForSequenceClassification

    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"checkpoint folder not found: {p}")
    tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    model = RobertaForSequenceClassification.from_pretrained(str(p), num_labels=1, problem_type="regression",
                                                             local_files_only=True, ignore_mismatched_sizes=True)
    return tok, model


def train(out_dir: Path, cfg: RobertaConfigParams | None = None, teacher_labels: str | None = None,
          fasttext_dir: Path | None = None) -> dict:
    import torch

    cfg = cfg or RobertaConfigParams()
    if teacher_labels:
        texts, scores = load_teacher_labels(teacher_labels)
        groups = [f"t{i}" for i in range(len(texts))]
        teacher = f"labels from {teacher_labels}"
    else:
        rows = without_eval(read_jsonl(bundled("quality.jsonl.gz")))
        texts = [r["text"] for r in rows]
        groups = [r["group"] for r in rows]
        ft_dir = Path(fasttext_dir or Path(out_dir) / "quality_fasttext")
        scores = default_teacher(texts, ft_dir)
        teacher = "0.7 x fastText quality + 0.3 x Gopher rules passed"
    test = np.array([is_test(g, cfg.seed + 1, cfg.test_fraction) for g in groups])
    tr_idx, te_idx = np.flatnonzero(~test), np.flatnonzero(test)

    old_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    try:
        if cfg.init_checkpoint:
            tokenizer, model = _load_checkpoint(cfg.init_checkpoint)
        else:
            tokenizer = train_tokenizer([texts[i][:2000] for i in tr_idx], cfg.vocab_size)
            model = _new_model(cfg, tokenizer)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
        rng = np.random.default_rng(cfg.seed)
        steps = cfg.epochs * math.ceil(len(tr_idx) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps))
        enc_cache = tokenizer([texts[i][: cfg.max_tokens * 8] for i in tr_idx], truncation=True,
                              max_length=cfg.max_tokens)["input_ids"]
        y_all = torch.tensor(scores[tr_idx], dtype=torch.float32)
        losses = []
        for _ in range(cfg.epochs):
            order = rng.permutation(len(tr_idx))
            for b in range(0, len(order), cfg.batch_size):
                idx = order[b : b + cfg.batch_size]
                batch = tokenizer.pad({"input_ids": [enc_cache[i] for i in idx]}, return_tensors="pt")
                out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                loss = torch.nn.functional.mse_loss(out.logits.squeeze(-1), y_all[idx])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                losses.append(loss.item())
        seconds = time.perf_counter() - t0
        model.eval()
        final = Path(out_dir) / MODEL_DIR
        with AtomicDir(final) as tmp:
            model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            scorer = RobertaScorer(tmp, max_tokens=cfg.max_tokens, device="cpu")
            pred = scorer.score([texts[i] for i in te_idx])
            y = scores[te_idx]
            card = {
                "model": "RobertaForSequenceClassification regressor (quality)",
                "init": cfg.init_checkpoint or "tiny configuration trained from scratch",
                "teacher": teacher,
                "train_docs": int(len(tr_idx)),
                "held_out": {
                    "n": int(len(te_idx)),
                    "pearson_vs_teacher": round(float(np.corrcoef(pred, y)[0, 1]), 4) if len(te_idx) > 2 else None,
                    "mse_vs_teacher": round(float(np.mean((pred - y) ** 2)), 5) if len(te_idx) else None,
                    # agreement with the teacher's ranking: AUC of the student's score for teacher >= median
                    "auc_teacher_above_median": round(auc(y >= np.median(y), pred), 4) if len(te_idx) > 2 else None,
                },
                "final_train_loss": round(float(np.mean(losses[-10:])), 5) if losses else None,
                "parameters": int(sum(p.numel() for p in model.parameters())),
                "config": cfg.model_dump(),
                "train_seconds": round(seconds, 2),
            }
            write_json(tmp / "card.json", card)
    finally:
        torch.set_num_threads(old_threads)
    return card


class RobertaScorer:
    """Quality score for a batch of texts: length-sorted batches, truncation, GPU when present."""

    def __init__(self, path: str | Path, max_tokens: int = 512, batch_size: int = 32, device: str | None = None):
        import torch
        from transformers import AutoTokenizer, RobertaForSequenceClassification

        p = Path(path)
        if not (p / "config.json").is_file():
            raise FileNotFoundError(f"no Hugging Face model folder at {p} (config.json missing)")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        self.model = RobertaForSequenceClassification.from_pretrained(str(p), local_files_only=True).to(self.device).eval()
        limit = self.model.config.max_position_embeddings - 2
        self.max_tokens = min(max_tokens, limit)
        self.batch_size = batch_size

    def score(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros(0, np.float32)
        # only the first ~8 characters per token can matter after truncation: cut before tokenizing
        cut = [t[: self.max_tokens * 8] for t in texts]
        ids = self.tokenizer(cut, truncation=True, max_length=self.max_tokens)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros(len(texts), np.float32)
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                idx = order[b : b + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt").to(self.device)
                logits = self.model(**batch).logits.squeeze(-1).float().cpu().numpy()
                out[idx] = logits
        return out
