"""The `rds-tui` program: the dashboard without a command, a headless command with one.

The one module that knows both faces: the command line (rds_tui.cli) never imports the
dashboard; it is handed `open_dashboard` for the cases that start it (no command,
`lab up`). Imports stay lazy so that `rds-tui rds_connection_tests --list` stays fast.
"""

from __future__ import annotations

import sys


def open_dashboard(*, profile_name: str | None = None, read_only: bool = False) -> int:
    """Run the dashboard in this terminal; the process exit code."""
    from rds_tui import cli

    try:
        from rds_tui.app import run_dashboard
    except ImportError as exc:
        print(
            f"rds-tui: the dashboard is not available ({exc}). The headless commands work: "
            "see `rds-tui --help`.",
            file=sys.stderr,
        )
        return cli.EXIT_ERROR
    return run_dashboard(profile_name=profile_name, read_only=read_only)


def main(argv: list[str] | None = None) -> int:
    from rds_tui import cli

    return cli.main(argv, open_dashboard=open_dashboard)
