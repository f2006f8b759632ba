"""python -m curation.train --manifest RUN/manifest.json [options]   (or torchrun ... -m curation.train)"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .config import load_config
    from .trainer import Trainer

    cfg = load_config(sys.argv[1:] if argv is None else argv)
    trainer = Trainer(cfg)
    try:
        trainer.train()
    finally:
        trainer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
