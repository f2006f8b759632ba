"""curate run PIPELINE --input PATH|RUN@STAGE... --output DIR [--set STAGE.KEY=VALUE] [--workers N] [--address ADDR] [--quiet | --verbose]"""

from __future__ import annotations


def register(sub) -> None:
    r = sub.add_parser("run", help="run a pipeline over input files on Ray",
                       description="Run PIPELINE over the inputs and write a run folder to --output. "
                                   "Re-running the same command resumes from the committed shards.")
    r.add_argument("pipeline", help="pipeline YAML file, e.g. pipelines/llama3.yaml")
    r.add_argument("--input", "-i", nargs="+", required=True,
                   help="input files or folders: .warc(.gz), .html(.gz), .parquet, .jsonl(.gz), .txt(.gz); local "
                        "paths or s3://, gs://, hdfs://, file:// URIs; or RUN@STAGE, the documents a stage of a "
                        "finished run kept, with their columns (docs/inputs.md)")
    r.add_argument("--output", "-o", required=True, help="run folder to write (created; resumed if it exists): a local path or an s3://, gs://, "
                        "hdfs:// URI")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override a parameter of the pipeline file, e.g. --set heuristics.min_words=30 or "
                        "--set input.batch_docs=100 (repeatable; VALUE is read as YAML)")
    r.add_argument("--workers", "-w", type=int, default=None,
                   help="parallel workers (default: every CPU of the local machine or cluster)")
    r.add_argument("--address", default=None,
                   help="Ray cluster address (default: $RAY_ADDRESS, else an in-process local Ray)")
    loud = r.add_mutually_exclusive_group()
    loud.add_argument("--quiet", "-q", action="store_true",
                      help="print nothing but errors (no progress bars or summary)")
    loud.add_argument("--verbose", "-v", action="store_true",
                      help="also print Ray's logs and the workers' output (by default they go to "
                           "OUTPUT/logs/run.log)")
    r.set_defaults(func=main)


def main(args) -> int:
    import sys

    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.preflight import training_notice
    from curation.run.inputs import provided_columns
    from curation.status import format_status, run_status

    cfg = load_pipeline(args.pipeline, args.overrides, provided_columns(args.input))
    notice = training_notice(cfg)
    if notice:  # in the first lines of a job's output too, not only in logs/run.log
        print(notice, file=sys.stderr, flush=True)
    try:
        layout = run_pipeline(cfg, args.input, args.output,
                              RunOptions(workers=args.workers, address=args.address, progress=not args.quiet,
                                         verbose=args.verbose))
    except OSError as e:  # a full disk while writing run.json names no file: name the run folder
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror, args.output) from e
        raise
    if not args.quiet:
        print(format_status(run_status(layout)))
        print(f"\noutput:  {layout.uri}\nsummary: curate status {layout.uri}\n"
              f"query:   curate query {layout.uri} \"SELECT reason, count(*) FROM rejected GROUP BY 1\"")
    return 0
