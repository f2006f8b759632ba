"""curate run PIPELINE --input PATH... --output DIR [--workers N] [--address ADDR] [--quiet]"""

from __future__ import annotations


def register(sub) -> None:
    r = sub.add_parser("run", help="run a pipeline over input files on Ray",
                       description="Run PIPELINE over the inputs and write a run folder to --output. "
                                   "Re-running the same command resumes from the committed shards.")
    r.add_argument("pipeline", help="pipeline YAML file, e.g. pipelines/llama3.yaml")
    r.add_argument("--input", "-i", nargs="+", required=True,
                   help="input files or folders: .warc(.gz), .html(.gz), .parquet, .jsonl(.gz); local paths or "
                        "s3://, gs://, hdfs://, file:// URIs (docs/run-folder.md)")
    r.add_argument("--output", "-o", required=True, help="run folder to write (created; resumed if it exists): a local path or an s3://, gs://, "
                        "hdfs:// URI")
    r.add_argument("--workers", "-w", type=int, default=None,
                   help="parallel workers (default: every CPU of the local machine or cluster)")
    r.add_argument("--address", default=None,
                   help="Ray cluster address (default: $RAY_ADDRESS, else an in-process local Ray)")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bars or summary")
    r.set_defaults(func=main)


def main(args) -> int:
    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.status import format_status, run_status

    cfg = load_pipeline(args.pipeline)
    layout = run_pipeline(cfg, args.input, args.output,
                          RunOptions(workers=args.workers, address=args.address, progress=not args.quiet))
    if not args.quiet:
        print(format_status(run_status(layout)))
        print(f"\noutput:  {layout.uri}\nsummary: curate status {layout.uri}\n"
              f"query:   curate query {layout.uri} \"SELECT reason, count(*) FROM rejected GROUP BY 1\"")
    return 0
