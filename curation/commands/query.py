"""curate query DIR "SQL" [--json] [--width N] [--unsafe]"""

from __future__ import annotations

import json


def register(sub) -> None:
    q = sub.add_parser("query", help="SQL over a run's Parquet with DuckDB",
                       description="Views: one per stage output (named by stage), rejected, stats, mix, anneal; "
                                   "table run (the run.json as text).")
    q.add_argument("output", help="run folder: a local path or an s3://, gs://, hdfs:// URI")
    q.add_argument("sql", help='e.g. "SELECT reason, count(*) FROM rejected GROUP BY 1"')
    q.add_argument("--json", action="store_true", help="print rows as JSON objects")
    q.add_argument("--unsafe", action="store_true",
                   help="let the SQL read and write files outside the run's views (read_text, COPY ... TO, "
                        "ATTACH); off by default: docs/hardening.md")
    q.add_argument("--width", type=int, default=120, help="truncate each printed value to this many characters")
    q.set_defaults(func=main)


def main(args) -> int:
    from curation.cli import UserError
    from curation.query import QueryError, query

    try:
        cols, rows = query(args.output, args.sql, unsafe=args.unsafe)
    except QueryError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps([dict(zip(cols, r)) for r in rows], default=str, indent=1))
        return 0
    if cols:
        print("\t".join(cols))
    for r in rows:
        print("\t".join("" if v is None else str(v).replace("\n", " ")[: args.width] for v in r))
    return 0
