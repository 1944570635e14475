"""`verify`: does a fix hold? Test 6 (the control) next to test 8 (a client heartbeat)
or test 9 (TCP keepalives), for longer than the cutoff; then the verdict.

The plan (duration) and the verdict come from rds_tui.report.fixes; dispatch, the run
history and monitoring are the same as `rds_connection_tests` (rds_tui.cli.tests).
Only argparse is imported at module level.
"""

from __future__ import annotations

import argparse
from typing import Any

from rds_tui import cli
from rds_tui.cli import UsageError


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _whole_seconds(text: str) -> int:
    value = _seconds(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(
            f"{text}: TCP keepalive timers count whole seconds; give e.g. {max(1, round(value))}"
        )
    return int(value)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from rds_tui.cli.tests import _duration, _positive_float

    common = cli.connection_parent()
    verify = cli.add_command_parser(
        subparsers,
        "verify",
        parents=[common],
        help="verify a fix: test 6 (control) next to test 8 (heartbeat) or 9 (keepalives)",
        description=(
            "Run test_6_listen_notify (the control: LISTEN, idle) next to a fix pattern,\n"
            "for longer than the cutoff (the profile's expected_cutoff_seconds, else the\n"
            "server's, plus 25%, at least 2 minutes), then say whether the fix holds:\n"
            "  the control dies and the fix lives  = the fix holds\n"
            "  both die                            = it does not hold\n"
            "  the control lives                   = inconclusive (too short, or no cutoff)\n"
            "The run is in the history like any other (rds-tui watch / report RUN)."
        ),
    )
    fix = verify.add_mutually_exclusive_group(required=True)
    fix.add_argument(
        "--heartbeat",
        type=_seconds,
        metavar="SECONDS",
        help="test 8: LISTEN plus SELECT 1 every SECONDS",
    )
    fix.add_argument(
        "--keepalive",
        type=_whole_seconds,
        metavar="SECONDS",
        help="test 9: idle with TCP keepalives every SECONDS (whole seconds)",
    )
    verify.add_argument(
        "--duration",
        type=_duration,
        metavar="MINUTES",
        help="override the run's length, in the server's minutes (default: cutoff + margin)",
    )
    verify.add_argument("--poll-interval", type=_positive_float, metavar="SECONDS")
    verify.add_argument("--json", action="store_true", help="print JSON instead of text")
    verify.set_defaults(handler=verify_command, monitor=True, sequential=False)


def verify_command(args: argparse.Namespace) -> int:
    from rds_tui.cli import tests
    from rds_tui.report import fixes

    if args.read_only:
        raise UsageError("--read-only: dispatching tests is disabled")
    connection = cli.resolve_connection(args)
    cli.require_api_root(connection)
    cli.require_password(connection)
    kind = fixes.HEARTBEAT if args.heartbeat is not None else fixes.KEEPALIVE
    seconds = args.heartbeat if kind == fixes.HEARTBEAT else args.keepalive
    interval = tests._poll_interval(args, connection.profile)
    return tests._run_async(
        lambda session: _verify(session, args, connection, kind, seconds, interval)
    )


async def _verify(
    session: Any,
    args: argparse.Namespace,
    connection: Any,
    kind: str,
    seconds: float,
    interval: float,
) -> int:
    from rds_tui.api import ApiError
    from rds_tui.cli import tests
    from rds_tui.report import fixes
    from rds_tui.service.runs import DispatchOptions

    try:
        async with connection.client(timeout=30.0) as client:
            catalog = await client.catalog()
    except ApiError as exc:
        return tests._api_failure(exc, args.json, {"verify": kind})
    test_name = fixes.FIXES[kind].test_name
    if test_name not in catalog.fix_tests:
        tests.err(
            f"rds-tui: error: the server's plugin has no {test_name} (its catalog lists no "
            "fix patterns): install pulp-rds-tests with tests 8 and 9 into the API and the "
            "workers, and restart them."
        )
        return cli.EXIT_API
    profile = connection.profile
    plan = fixes.verify_plan(
        catalog.expected_cutoff_seconds,
        catalog.time_unit_seconds,
        profile.expected_cutoff_seconds if profile is not None else None,
        connection.profile_name,
    )
    duration = args.duration or plan.duration_minutes
    if not args.json:
        tests.out(f"Verifying a fix: {fixes.FIXES[kind].flag} {seconds:g}")
        tests.out(f"Duration: {plan.text()}.")
        if args.duration and args.duration < plan.duration_minutes:
            tests.err(
                f"warning: --duration {args.duration} is shorter than that: if the control "
                "lives, the verdict is inconclusive."
            )
        tests.out()
    options = DispatchOptions(
        duration_minutes=duration,
        heartbeat_interval_seconds=seconds if kind == fixes.HEARTBEAT else None,
        keepalive_interval_seconds=int(seconds) if kind == fixes.KEEPALIVE else None,
    )

    def finish(run: Any, client: Any, snapshots: list[Any], as_json: bool) -> int:
        verdict = fixes.judge_tasks([s.as_dict() for s in snapshots])
        document = {"verify": [v.to_json() for v in verdict], "verify_plan": plan.text()}
        # The verdict last, where the eye lands (its Pulp settings are under PULP SETTINGS).
        lines = ["", "VERIFY"] + [f"  {v.headline()}" for v in verdict]
        return tests._finish(run, client, snapshots, as_json, document, lines)

    return await tests._dispatch_and_monitor(
        session,
        args,
        connection,
        fixes.verify_tests(kind),
        duration,
        interval,
        options=options,
        finish=finish,
    )
