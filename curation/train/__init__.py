"""The bundled trainer: a Llama 3-style decoder trained on a curated run with FSDP2 + TP.

Entry points: ``python -m curation.train`` / ``torchrun -m curation.train`` (see ``__main__``),
``curation.train.run(cfg)`` from Python, and ``curation.train.average.main``
for ``curate average-checkpoints``. Options are documented in ``docs/train.md``.
"""

from .config import TrainConfig, load_config

__all__ = ["TrainConfig", "load_config", "run"]


def run(cfg: TrainConfig) -> list[dict]:
    """Train with ``cfg`` in this process (one rank of a torchrun job, or alone); returns step records."""
    from .trainer import Trainer

    t = Trainer(cfg)
    try:
        return t.train()
    finally:
        t.close()
