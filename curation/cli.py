"""The ``curate`` command line. ``curate <command> --help`` documents every option.

Subcommands live one per module in :mod:`curation.commands` and are discovered at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from curation import __version__, commands


class UserError(Exception):
    """An error to print as one line, without a traceback (bad input, bad config)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate", description="Distributed data curation for LLM pre-training.")
    p.add_argument("--version", action="version", version=f"curation {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        importlib.import_module(f"curation.commands.{mod}").register(sub)
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    from curation.config import ConfigError
    from curation.engine.runner import RunError
    from curation.io.sources import InputError

    return (UserError, ConfigError, InputError, RunError, FileNotFoundError)


#: Exit status after Ctrl-C (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130
#: Exit status for an operating-system error (a full disk, a read-only folder).
EXIT_OS_ERROR = 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except _user_errors() as e:
        print(f"curate: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("curate: interrupted; committed work is kept - run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:  # ENOSPC, EACCES, EROFS ...: the system's message names the path
        print(f"curate: error: {e}", file=sys.stderr)
        return EXIT_OS_ERROR
