"""Helpers shared by the command-line tests: run the CLI in-process, the guide's list."""

from __future__ import annotations

import re

from rds_tui import cli
from rds_tui import main as program

# The guide's `--list` output, verbatim.
GUIDE_LIST = """\
=== Available RDS Connection Tests ===

  test_1_idle_connection
    Idle connection test (50 min) - baseline timeout test

  test_2_active_heartbeat
    Active heartbeat test (50 min) - periodic queries

  test_3_long_transaction
    Long transaction test (50 min) - idle transaction

  test_4_transaction_with_work
    Transaction with work test (50 min) - active transaction

  test_5_session_variable
    Session variable test (50 min) - connection pinning via SET

  test_6_listen_notify
    LISTEN/NOTIFY test (50 min) - CRITICAL: real worker behavior

  test_7_listen_with_activity
    LISTEN with activity test (50 min) - periodic notifications

"""


def login_options(api_root: str, user: str = "admin", password: str = "password") -> list[str]:
    """The guide's global options: the server and credentials (FakePulp's admin by default)."""
    return ["--api-root", api_root, "--user", user, "--password", password]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """The program as `rds-tui ARGV` runs it (rds_tui.main: the dashboard without a command)."""
    code = program.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_outage_survived(code: int, out: str, err: str) -> None:
    """The monitor said the server was gone, how long since the last good check, that it
    came back, and then finished normally."""
    assert code == cli.EXIT_OK, err
    assert "! Status check failed: Cannot reach" in err
    assert re.search(r"last successful poll \d+ s ago", err)
    assert "✓ Server reachable again after" in err
    assert "✓ All tasks completed!" in out
