"""curate average-checkpoints RUN_OUT [--last K] --out DIR (Polyak averaging, Llama 3)"""

from __future__ import annotations


def register(sub) -> None:
    from curation.train import average

    s = sub.add_parser("average-checkpoints", help=average.HELP, description=average.DESCRIPTION)
    average.add_arguments(s)
    s.set_defaults(func=main)


def main(args) -> int:
    from curation.train import average

    return average.run(args)
