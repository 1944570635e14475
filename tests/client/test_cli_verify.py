"""`rds-tui verify` without a lab: usage errors and a server whose plugin has no fix
patterns (the original endpoint). The verdicts are in tests/store/test_fix_verdict.py,
the real runs in test_cli_verify_lab.py."""

from __future__ import annotations

import json

import pytest

from rds_tui import cli

from .clihelpers import login_options, run_cli
from .fakepulp import FakePulp


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ((), "one of the arguments --heartbeat --keepalive is required"),
        (("--heartbeat", "5", "--keepalive", "5"), "not allowed with argument"),
        (("--heartbeat", "0"), "must be more than 0 seconds"),
        (("--keepalive", "2.5"), "TCP keepalive timers count whole seconds"),
        (("--heartbeat", "5", "--duration", "0"), "between 1 and 300"),
    ],
)
def test_usage_errors_say_what_to_give(capsys, options, words):
    with pytest.raises(SystemExit) as info:  # argparse's own errors
        cli.main(["--api-root", "http://x", "verify", *options])
    assert info.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_read_only_refuses_to_dispatch(capsys):
    code, _, err = run_cli(
        capsys, "--read-only", "--api-root", "http://x", "verify", "--heartbeat", "5"
    )
    assert code == cli.EXIT_USAGE and "--read-only" in err


def test_a_server_without_the_fix_patterns_is_refused_before_dispatching(capsys):
    with FakePulp() as fake:  # the original endpoint: the seven tests only
        code, _, err = run_cli(capsys, *login_options(fake.url), "verify", "--heartbeat", "20")
        assert code == cli.EXIT_API
        assert "has no test_8_listen_with_heartbeat" in err and "Traceback" not in err
        assert not [r for r in fake.requests if r[0] == "POST"]


def test_list_names_the_fix_patterns_apart_from_the_guides_seven(capsys):
    code, out, err = run_cli(capsys, "rds_connection_tests", "--list")
    assert code == cli.EXIT_OK
    assert "test_8" not in out  # stdout stays the guide's list
    assert "Fix patterns (not part of --all" in err and "test_9_tcp_keepalive" in err
    code, out, _ = run_cli(capsys, "rds_connection_tests", "--list", "--json")
    document = json.loads(out)
    assert len(document["available_tests"]) == 7
    assert document["fix_tests"] == ["test_8_listen_with_heartbeat", "test_9_tcp_keepalive"]


def test_all_runs_the_seven_and_the_fix_patterns_are_picked_by_number():
    from rds_tui.cli.tests import resolve_tests

    assert len(resolve_tests(None, True)) == 7
    assert resolve_tests(["8", "9"], False) == [
        "test_8_listen_with_heartbeat",
        "test_9_tcp_keepalive",
    ]
