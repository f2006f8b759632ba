"""Where models live, and training the missing ones on first use (under a file lock, so that several
workers starting at once train each model only once)."""

from __future__ import annotations

import fcntl
import os
import sys
from contextlib import contextmanager
from pathlib import Path


#: Names of the model folders/files inside a models directory.
QUALITY_FASTTEXT = "quality_fasttext"
QUALITY_ROBERTA = "quality_roberta"
DOMAIN = "domain_fasttext"
TOKENIZER = "tokenizer.json"
ALL = ("quality_fasttext", "quality_roberta", "domain", "tokenizer")


def default_models_dir() -> Path:
    """$CURATION_MODELS, else ``models/`` at the repository root (a source checkout), else ./models."""
    env = os.environ.get("CURATION_MODELS")
    if env:
        return Path(env).resolve()
    repo = Path(__file__).resolve().parents[2]  # curation/classifiers/models_dir.py -> the checkout
    if (repo / "pyproject.toml").is_file():
        return repo / "models"
    return Path("models").resolve()


def resolve(models: str | os.PathLike | None) -> Path:
    return Path(models).resolve() if models else default_models_dir()


def present(models: Path) -> dict[str, bool]:
    return {
        "quality_fasttext": (models / QUALITY_FASTTEXT / "model.bin").is_file(),
        "quality_roberta": (models / QUALITY_ROBERTA / "config.json").is_file(),
        "domain": (models / DOMAIN / "domain.bin").is_file(),
        "tokenizer": (models / TOKENIZER).is_file(),
    }


@contextmanager
def locked(models: Path):
    models.mkdir(parents=True, exist_ok=True)
    with open(models / ".train.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def train_tokenizer(models: Path, vocab_size: int = 8192) -> dict:
    """The default token-counting tokenizer of ``mix`` (when no trainer tokenizer is named): the
    trainer's own byte-level BPE recipe (curation.tokenizer.train_bpe) on the bundled text."""
    from curation.classifiers.common import bundled, read_jsonl
    from curation.tokenizer import train_bpe

    texts = [r["text"] for name in ("quality.jsonl.gz", "domain.jsonl.gz") for r in read_jsonl(bundled(name))]
    tmp = models / f".tmp-{os.getpid()}-{TOKENIZER}"
    train_bpe(texts, vocab_size, tmp)
    os.replace(tmp, models / TOKENIZER)
    return {"tokenizer": str(models / TOKENIZER), "vocab_size": vocab_size, "docs": len(texts)}


def ensure(models: str | os.PathLike | None, which: tuple[str, ...] = ALL, quiet: bool = False,
           roberta_checkpoint: str | None = None) -> Path:
    """Train whichever of ``which`` is missing from ``models`` (default configurations); return the dir."""
    root = resolve(models)
    if all(present(root)[w] for w in which):
        return root
    with locked(root):
        have = present(root)  # another process may have trained them while we waited
        need = [w for w in which if not have[w]]
        if "quality_roberta" in need and not have["quality_fasttext"] and "quality_fasttext" not in need:
            need.insert(0, "quality_fasttext")  # the default teacher needs it
        for w in ALL:
            if w in need:
                if not quiet:
                    print(f"curation: training missing model {w} into {root} (first use)", file=sys.stderr)
                train_one(root, w, roberta_checkpoint=roberta_checkpoint)
    return root


def train_one(root: Path, which: str, roberta_checkpoint: str | None = None, **kw) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    if which == "quality_fasttext":
        from curation.classifiers import quality_fasttext

        return quality_fasttext.train(root, kw.get("quality_config"), kw.get("positives"), kw.get("negatives"))
    if which == "domain":
        from curation.classifiers import domain

        return domain.train(root, kw.get("domain_config"), kw.get("domain_data"))
    if which == "quality_roberta":
        from curation.classifiers import roberta

        cfg = kw.get("roberta_config") or roberta.RobertaConfigParams(init_checkpoint=roberta_checkpoint)
        return roberta.train(root, cfg, kw.get("teacher_labels"))
    if which == "tokenizer":
        return train_tokenizer(root)
    raise ValueError(f"unknown model {which!r}; known: {', '.join(ALL)}")


def tokenizer_path(tokenizer: str | None, models: str | None) -> str:
    """The trainer's tokenizer for a pipeline stage: ``tokenizer`` when given (a tokenizer.json or a
    local Hugging Face folder), else ``<models>/tokenizer.json``, trained on first use. The ``mix``
    stage counts tokens and the ``tokenize`` stage writes them with this same file."""
    if tokenizer:
        return str(Path(tokenizer).resolve())
    return str(ensure(models, ("tokenizer",)) / TOKENIZER)
