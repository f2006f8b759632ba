"""python -m curation.train --manifest RUN/manifest.json [options]   (or torchrun ... -m curation.train)"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .config import load_config
    from .trainer import Trainer
    from .validate import DataError

    cfg = load_config(sys.argv[1:] if argv is None else argv)
    try:
        trainer = Trainer(cfg)
    except DataError as e:  # corrupt token shards: one line naming the file and row
        print(f"curation.train: error: {e}", file=sys.stderr)
        return 2
    try:
        trainer.train()
    finally:
        trainer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
