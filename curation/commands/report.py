"""curate report DIR [--name FILE]"""

from __future__ import annotations


def register(sub) -> None:
    r = sub.add_parser("report", help="write the run's self-contained report.html (charts, no network)",
                       description="Write DIR/report.html: the document funnel by stage and reason, distributions "
                                   "(text length, scores, language), target against achieved mix, top reject "
                                   "reasons with example URLs and time per stage, each chart with its numbers. "
                                   "Works on a finished run and on one still going (committed shards).")
    r.add_argument("output", help="run folder: a local path or an s3://, gs://, hdfs:// URI")
    r.add_argument("--name", default="report.html",
                   help="file name inside the run folder (default: report.html); paths leading outside are refused")
    r.set_defaults(func=main)


def main(args) -> int:
    from curation.cli import UserError
    from curation.report import build_report

    try:
        path = build_report(args.output, args.name)
    except ValueError as e:  # a --name that leads outside the run folder
        raise UserError(str(e)) from None
    print(path)
    return 0
