"""curate ops [OP...] [--json]: the operators, their parameters and defaults, the columns they
require and provide, and their resources (from the declarations the pipeline check uses)."""

from __future__ import annotations


def register(sub) -> None:
    r = sub.add_parser("ops", help="list the operators: parameters, defaults, columns required and provided",
                       description="List the operators a pipeline file can name (op: NAME), or the named ones "
                                   "(a registry name or module:Class), with each parameter's type and default, "
                                   "the columns the operator requires and provides, and its resources. "
                                   "docs/operators.md explains them.")
    r.add_argument("ops", nargs="*", metavar="OP", help="operators to show (default: every built-in one)")
    r.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    r.set_defaults(func=main)


def main(args) -> int:
    import json

    from curation.cli import UserError
    from curation.operators.catalog import catalog, format_catalog

    try:
        entries = catalog(args.ops or None)
    except KeyError as e:
        raise UserError(e.args[0]) from None
    print(json.dumps(entries, indent=2) if args.json else format_catalog(entries), end="\n" if args.json else "")
    return 0
