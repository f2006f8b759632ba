"""curate status DIR [--json]"""

from __future__ import annotations

import json


def register(sub) -> None:
    s = sub.add_parser("status", help="documents in, kept and rejected per stage, with reasons")
    s.add_argument("output", help="run folder: a local path or an s3://, gs://, hdfs:// URI")
    s.add_argument("--json", action="store_true",
                   help='print {"stages": {stage: {"in", "kept", "rejected", "reasons"}}}')
    s.set_defaults(func=main)


def main(args) -> int:
    from curation.status import format_status, run_status

    st = run_status(args.output)
    print(json.dumps(st, indent=2) if args.json else format_status(st))
    return 0
