"""curate validate PIPELINE --input PATH... [--set STAGE.KEY=VALUE ...] [--json]"""

from __future__ import annotations

import json


def register(sub) -> None:
    v = sub.add_parser("validate", help="check a pipeline and its inputs and print the plan, without running",
                       description="Read PIPELINE (with --set overrides), validate every stage, list the inputs "
                                   "and cut them into shards as curate run would, and print the stage groups, the "
                                   "key partitions of global stages and the models needed. Starts no Ray, reads "
                                   "no document, writes nothing. Exit 0 when the run could start, 2 otherwise.")
    v.add_argument("pipeline", help="pipeline YAML file, e.g. pipelines/llama3.yaml")
    v.add_argument("--input", "-i", nargs="+", required=True, help="input files or folders, as for curate run")
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override a parameter, e.g. --set heuristics.min_words=30 (repeatable; VALUE is YAML)")
    v.add_argument("--json", action="store_true", help="print the plan as JSON")
    v.set_defaults(func=main)


def main(args) -> int:
    from curation.config import load_pipeline
    from curation.preflight import check, format_check
    from curation.run.inputs import provided_columns

    plan = check(load_pipeline(args.pipeline, args.overrides, provided_columns(args.input)), args.input)
    print(json.dumps(plan, indent=2) if args.json else format_check(plan))
    return 0
