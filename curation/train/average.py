"""``curate average-checkpoints``: Polyak averaging of a training run's last K checkpoints.

Importing this module does not import torch, so ``curate --help`` stays fast: the command
module calls ``add_arguments`` on its sub-parser and ``run`` on the parsed arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Polyak-average the model weights of a training run's last K checkpoints (Llama 3)"
DESCRIPTION = (
    "Polyak-average the model weights of the last K checkpoints of a training run (Llama 3 "
    "averages the checkpoints of the annealing phase). Writes a model-only checkpoint; train "
    "or evaluate from it with python -m curation.train --init-from OUT."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="a run's OUT or OUT/checkpoints folder, or checkpoint folders (step-*)")
    p.add_argument("--last", type=int, default=0, help="average the newest K checkpoints found (0 = all given/found)")
    p.add_argument("--out", required=True, help="folder to write the averaged checkpoint to")


def run(args: argparse.Namespace) -> int:
    from .checkpoint import PREFIX, average_checkpoints, list_checkpoints

    found: list[Path] = []
    for s in args.paths:
        q = Path(s)
        if (q / "meta.json").is_file() and q.name.startswith(PREFIX):
            found.append(q)
        elif (q / "checkpoints").is_dir():
            found.extend(list_checkpoints(q / "checkpoints"))
        elif q.is_dir():
            found.extend(list_checkpoints(q))
        else:
            raise FileNotFoundError(f"not a checkpoint or a folder of checkpoints: {q}")
    found = sorted(set(found), key=lambda x: (str(x.parent), int(x.name[len(PREFIX) :])))
    if args.last > 0:
        found = found[-args.last :]
    if not found:
        raise FileNotFoundError(f"no complete checkpoints (step-*/meta.json) in {', '.join(args.paths)}")
    out = average_checkpoints(found, args.out)
    print(f"averaged {len(found)} checkpoints ({', '.join(x.name for x in found)}) -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="curate average-checkpoints", description=DESCRIPTION)
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
