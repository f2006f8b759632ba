"""Tokenizers: a byte-level BPE trained offline with `tokenizers`, or a local Hugging Face tokenizer.

Nothing is downloaded. Every document is encoded as ``[BOS] tokens [EOS]`` so that packed
sequences carry their boundaries in the text as well as in the document ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"


class Tokenizer:
    """A thin wrapper with ``encode_batch``, ``vocab_size``, ``bos_id`` and ``eos_id``."""

    def __init__(self, tok, bos_id: int | None, eos_id: int, source: str):
        self._tok = tok  # a tokenizers.Tokenizer
        self.bos_id = bos_id
        self.eos_id = eos_id
        self.source = source

    @property
    def backend(self):
        """The ``tokenizers.Tokenizer`` inside (for the Hugging Face export)."""
        return self._tok

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, wrapped in BOS/EOS."""
        encs = self._tok.encode_batch(texts, add_special_tokens=False)
        pre = [self.bos_id] if self.bos_id is not None else []
        return [pre + e.ids + [self.eos_id] for e in encs]

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids)

    def save(self, path: str | Path) -> None:
        self._tok.save(str(path))


def train_bpe(texts: Iterable[str], vocab_size: int, path: str | Path | None = None) -> Tokenizer:
    """Train a byte-level BPE (GPT-2 style pre-tokenization) on ``texts``; deterministic."""
    from tokenizers import Tokenizer as HFTok, decoders, models, pre_tokenizers, trainers

    tok = HFTok(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    if path is not None:
        tok.save(str(path))
    return _wrap(tok, str(path) if path else "trained-bpe")


def _wrap(tok, source: str) -> Tokenizer:
    bos = tok.token_to_id(BOS)
    eos = tok.token_to_id(EOS)
    if eos is None:
        raise ValueError(f"{source}: tokenizer has no {EOS} token")
    return Tokenizer(tok, bos, eos, source)


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a ``tokenizer.json`` file, or a local Hugging Face tokenizer folder (no downloads)."""
    from tokenizers import Tokenizer as HFTok

    p = Path(path)
    if p.is_file():
        tok = HFTok.from_file(str(p))
        if tok.token_to_id(EOS) is not None:
            return _wrap(tok, str(p))
        return _from_special_guess(tok, str(p))
    if p.is_dir():
        if (p / "tokenizer.json").is_file() and not (p / "tokenizer_config.json").is_file():
            return load_tokenizer(p / "tokenizer.json")
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        if not getattr(hf, "is_fast", False):
            raise ValueError(f"{p}: only fast (Rust) Hugging Face tokenizers are supported")
        if hf.eos_token_id is None:
            raise ValueError(f"{p}: tokenizer has no EOS token")
        return Tokenizer(hf.backend_tokenizer, hf.bos_token_id, hf.eos_token_id, str(p))
    raise FileNotFoundError(f"tokenizer not found: {path} (give a tokenizer.json file or a local folder)")


def _from_special_guess(tok, source: str) -> Tokenizer:
    for bos_name, eos_name in (("<s>", "</s>"), ("<|endoftext|>", "<|endoftext|>"), ("<bos>", "<eos>")):
        eos = tok.token_to_id(eos_name)
        if eos is not None:
            bos = tok.token_to_id(bos_name)
            return Tokenizer(tok, bos if bos != eos else None, eos, source)
    raise ValueError(f"{source}: cannot find an end-of-text token")


def iter_limited(texts: Iterable[str], max_chars: int) -> Iterator[str]:
    n = 0
    for t in texts:
        if n >= max_chars:
            return
        t = t[: max_chars - n]
        n += len(t)
        yield t
