"""The ``curate`` command line. ``curate <command> --help`` documents every option.

Subcommands live one per module in :mod:`curation.commands` and are discovered at start-up.

Expected failures (bad config or input, bad SQL, an unreachable cluster, a missing token) print one
line, ``curate: error: ...``, and exit 2; ``--log-level debug`` adds the traceback. Output cut short
by its reader (``curate status RUN | head``) ends quietly with the shell's SIGPIPE status, 141.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

from curation import __version__, commands

log = logging.getLogger("curation")

#: ``--log-level`` choices; the default prints warnings and errors (Python's own default level)
LOG_LEVELS = ("debug", "info", "warning", "error")


class UserError(Exception):
    """An error to print as one line, without a traceback (bad input, bad config)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate", description="Distributed data curation for LLM pre-training.")
    p.add_argument("--version", action="version", version=f"curation {__version__}")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="warning",
                   help="messages to print on stderr (default: warning); debug also prints the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        importlib.import_module(f"curation.commands.{mod}").register(sub)
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    from curation.config import ConfigError
    from curation.engine.runner import RunError
    from curation.evaluation.sources import SourceError
    from curation.io.sources import InputError

    return (UserError, ConfigError, InputError, RunError, SourceError, FileNotFoundError, ConnectionError,
            duckdb.Error)


#: Exit status after Ctrl-C (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130
#: Exit status for an operating-system error (a full disk, a read-only folder).
EXIT_OS_ERROR = 1
#: Exit status when the reader of the output went away (128 + SIGPIPE, as a killed process gets).
EXIT_BROKEN_PIPE = 141


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text


def _quiet_broken_pipe() -> int:
    # Python's advice (signal docs, "Note on SIGPIPE"): point stdout at devnull so the interpreter's
    # final flush does not raise again
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def _setup_logging(level: str) -> None:
    """Our own loggers (``curation.*``) on stderr at ``level``; the root logger is left alone, so
    Ray's messages still go where the run sends them (``OUTPUT/logs/run.log``)."""
    if not any(getattr(h, "_curation", False) for h in log.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        h._curation = True
        log.addHandler(h)
    log.setLevel(level.upper())
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    debug = args.log_level == "debug"
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that left shows here, not at exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except _user_errors() as e:
        if debug:
            log.exception("the error's traceback")
        print(f"curate: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("curate: interrupted; committed work is kept - run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:  # ENOSPC, EACCES, EROFS ...: the system's message names the path
        if debug:
            log.exception("the error's traceback")
        print(f"curate: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_OS_ERROR
