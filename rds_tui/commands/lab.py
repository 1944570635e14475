"""`rds-tui lab ...`: start, inspect and stop the local lab (see rds_tui.lab)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lab", help="run a local, time-scaled Pulp behind a proxy")
    parser.set_defaults(handler=lambda args: (print("lab: not implemented yet"), 1)[1])
