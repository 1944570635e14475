"""Command-line entry point: the dashboard by default, headless subcommands otherwise.

Each subcommand lives in a module of `rds_tui.commands` that exposes
`add_parser(subparsers)`; the parser it adds sets `handler` (a callable taking the
parsed arguments and returning an exit code). Imports stay lazy so that a headless
command does not pay for Textual.
"""

from __future__ import annotations

import argparse
import sys

from rds_tui import __version__

# Exit codes (documented in --help and the README).
EXIT_OK = 0
EXIT_USAGE = 2

COMMAND_MODULES = ("lab",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rds-tui",
        description="Launch, watch and read RDS Proxy connection probes in a Pulp deployment.",
    )
    parser.add_argument("--version", action="version", version=f"rds-tui {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = __import__(f"rds_tui.commands.{name}", fromlist=["add_parser"])
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
