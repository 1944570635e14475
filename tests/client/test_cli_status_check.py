"""The headless monitor's "Status Check (T+N minutes)" counts the server's minutes."""

from __future__ import annotations

import pytest

from rds_tui.cli.tests import StatusPrinter
from rds_tui.runs import Run


@pytest.mark.parametrize(
    ("options", "heading"),
    [
        ({"time_unit_seconds": 1}, "--- Status Check (T+125 minutes) ---"),  # the lab's minute
        ({"time_unit_seconds": 60}, "--- Status Check (T+2 minutes) ---"),
        ({}, "--- Status Check (T+2 minutes) ---"),  # an older run: a real minute
    ],
)
def test_status_check_counts_the_servers_minutes(capsys, options, heading):
    run = Run(api_root="https://pulp.example.com", options=options)
    StatusPrinter(60, run).status_check([], elapsed_seconds=125.0)
    assert capsys.readouterr().out.splitlines()[1] == heading
