"""The ``curate`` command line. ``curate <command> --help`` documents every option."""

from __future__ import annotations

import argparse
import json
import sys

from curation import __version__


def _cmd_run(args) -> int:
    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.status import format_status, run_status

    cfg = load_pipeline(args.pipeline)
    layout = run_pipeline(cfg, args.input, args.output,
                          RunOptions(workers=args.workers, address=args.address, progress=not args.quiet))
    if not args.quiet:
        print(format_status(run_status(layout.root)))
        print(f"\noutput: {layout.root}\nsummary: curate status {layout.root}   "
              f"(query: curate query {layout.root} \"SELECT ...\")")
    return 0


def _cmd_status(args) -> int:
    from curation.status import format_status, run_status

    st = run_status(args.output)
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        print(format_status(st))
    return 0


def _cmd_query(args) -> int:
    from curation.query import query

    cols, rows = query(args.output, args.sql)
    if args.json:
        print(json.dumps([dict(zip(cols, r)) for r in rows], default=str, indent=1))
        return 0
    if cols:
        print("\t".join(cols))
    for r in rows:
        print("\t".join("" if v is None else str(v).replace("\n", " ")[: args.width] for v in r))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate", description="Distributed data curation for LLM pre-training.")
    p.add_argument("--version", action="version", version=f"curation {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a pipeline over input files on Ray",
                       description="Run PIPELINE over the inputs and write a run folder to --output. "
                                   "Re-running the same command resumes from the committed shards.")
    r.add_argument("pipeline", help="pipeline YAML file, e.g. pipelines/llama3.yaml")
    r.add_argument("--input", "-i", nargs="+", required=True,
                   help="input files or folders: .warc(.gz), .html(.gz), .parquet, .jsonl(.gz)")
    r.add_argument("--output", "-o", required=True, help="run folder to write (created; resumed if it exists)")
    r.add_argument("--workers", "-w", type=int, default=None,
                   help="parallel workers (default: every CPU of the local machine or cluster)")
    r.add_argument("--address", default=None,
                   help="Ray cluster address (default: $RAY_ADDRESS, else an in-process local Ray)")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bars or summary")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("status", help="documents in, kept and rejected per stage, with reasons")
    s.add_argument("output", help="run folder")
    s.add_argument("--json", action="store_true", help='print {"stages": {stage: {in, kept, rejected, reasons}}}')
    s.set_defaults(func=_cmd_status)

    q = sub.add_parser("query", help="SQL over a run's Parquet with DuckDB",
                       description="Views: one per stage output (named by stage), rejected, stats, mix, anneal.")
    q.add_argument("output", help="run folder")
    q.add_argument("sql", help='e.g. "SELECT reason, count(*) FROM rejected GROUP BY 1"')
    q.add_argument("--json", action="store_true", help="print rows as JSON objects")
    q.add_argument("--width", type=int, default=120, help="truncate each printed value to this many characters")
    q.set_defaults(func=_cmd_query)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from curation.config import ConfigError
    from curation.engine.runner import RunError
    from curation.io.sources import InputError

    try:
        return args.func(args)
    except (ConfigError, InputError, RunError, FileNotFoundError) as e:
        print(f"curate: error: {e}", file=sys.stderr)
        return 2
