"""`probe`: the probes straight from this machine against a PostgreSQL endpoint, no Pulp.

The same probes as the plugin's (rds_probes), the same options, the same monitor text,
summary, diagnosis and run history as `rds_connection_tests`; only where they run
differs. A direct run lives as long as this command: Ctrl-C asks first (on a terminal),
then every probe closes its connection and the run keeps what they measured, marked
partial (canceled tasks). SIGTERM stops them the same way without asking.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from rds_tui import cli
from rds_tui.cli import UsageError
from rds_tui.constants import DIRECT_POLL_INTERVAL_SECONDS

MIN_TIME_UNIT_SECONDS = 0.1
MAX_TIME_UNIT_SECONDS = 3600.0
# Status lines: one per time unit, at most a minute apart.
MAX_POLL_SECONDS = 60.0
STOP_QUESTION = (
    "\nStop the probes now? Each closes its connection; the run keeps what they measured "
    "so far, marked partial. [y/N] "
)


def _time_unit(text: str) -> float:
    from rds_tui.cli.tests import _positive_float

    value = _positive_float(text)
    if not MIN_TIME_UNIT_SECONDS <= value <= MAX_TIME_UNIT_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_TIME_UNIT_SECONDS:g} and {MAX_TIME_UNIT_SECONDS:g} seconds"
        )
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from rds_tui.cli.tests import _add_tests_option, _duration, _positive_float
    from rds_tui.cli.verify import _whole_seconds

    probe = cli.add_command_parser(
        subparsers,
        "probe",
        help="run the probes from this machine straight against a PostgreSQL DSN (no Pulp)",
        description=(
            "Run the probes from this machine against a PostgreSQL endpoint (RDS Proxy,\n"
            "PgBouncer, pgpool-II or the database): nothing deployed into Pulp. The plugin\n"
            "path stays the faithful one (the workers' own network path); this one gives a\n"
            "first answer. Needs the direct extra: pip install ./probes '.[direct]'.\n"
            "The DSN's password is never shown or stored: give it in the environment\n"
            "(--dsn-env, --password-env, PGPASSWORD or ~/.pgpass)."
        ),
    )
    where = probe.add_mutually_exclusive_group()
    where.add_argument("--dsn", metavar="URL", help="postgresql://USER@HOST:PORT/DBNAME")
    where.add_argument("--dsn-env", metavar="VAR", help="environment variable holding the DSN")
    where.add_argument(
        "--profile",
        dest="direct_profile",
        metavar="NAME",
        help="a saved profile of kind direct (rds-tui profiles add NAME --dsn ...)",
    )
    probe.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the password"
    )
    _add_tests_option(
        probe,
        "a test to run (repeatable): full name, number (6) or unique prefix; the fix "
        "patterns only this way: -t 8, -t 9",
    )
    probe.add_argument("--all", action="store_true", help="run the seven tests")
    probe.add_argument(
        "--duration",
        type=_duration,
        metavar="MINUTES",
        help="how long each test holds its connection, in time units (default 50)",
    )
    probe.add_argument(
        "--time-unit",
        type=_time_unit,
        metavar="SECONDS",
        help="the length of one minute of --duration (default 60; the lab uses 1)",
    )
    probe.add_argument("--sequential", action="store_true", help="run the tests one by one")
    probe.add_argument("--json", action="store_true", help="print JSON instead of text")
    probe.add_argument(
        "--heartbeat-interval",
        type=_positive_float,
        metavar="SECONDS",
        help="tests 2, 4 and 8: seconds between statements (default: 1 unit; test 4: 2)",
    )
    probe.add_argument(
        "--notify-interval",
        type=_positive_float,
        metavar="SECONDS",
        help="test 7: seconds between NOTIFYs (default 2 units)",
    )
    probe.add_argument(
        "--keepalive-interval",
        type=_whole_seconds,
        metavar="SECONDS",
        help="test 9: TCP keepalive idle time and interval (default 1 unit)",
    )
    probe.add_argument(
        "--keep-going",
        action="store_true",
        help="after a disconnect, keep the probe (not the connection) until its end",
    )
    probe.add_argument(
        "--expected-cutoff",
        type=_positive_float,
        metavar="SECONDS",
        help="the idle cutoff the timers and the diagnosis measure against (default 40 units)",
    )
    probe.add_argument(
        "--expected-in-transaction-cutoff",
        type=_positive_float,
        metavar="SECONDS",
        help="the same for tests 3 and 4 (default: --expected-cutoff)",
    )
    probe.add_argument(
        "--poll-interval",
        type=_positive_float,
        metavar="SECONDS",
        help="seconds between status lines (default: one time unit, 1 to 60 s)",
    )
    probe.add_argument("--yes", action="store_true", help="Ctrl-C stops the probes without asking")
    probe.set_defaults(handler=probe_command)


# --- what to run, where -------------------------------------------------------------------


def _profile(args: argparse.Namespace) -> Any:
    """The direct profile named by --profile (or the global --profile); None without."""
    from rds_tui.profiles import ProfileError, ProfileStore

    name = args.direct_profile or (
        None if args.dsn or args.dsn_env else getattr(args, "profile", None)
    )
    if not name:
        return None
    try:
        profile = ProfileStore().get(name)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    if getattr(profile, "kind", "pulp") != "direct":
        raise UsageError(
            f"profile {name!r} is a Pulp instance; `rds-tui rds_connection_tests --profile "
            f"{name}` runs the probes in it. `probe` takes a profile of kind direct, or --dsn."
        )
    return profile


def _target(args: argparse.Namespace, profile: Any) -> Any:
    from rds_tui.direct.dsn import DsnError, resolve_target

    if not (args.dsn or args.dsn_env or profile):
        raise UsageError(
            "no endpoint given: --dsn postgresql://USER@HOST:PORT/DBNAME, --dsn-env VAR, "
            "or --profile NAME (a profile of kind direct)"
        )
    try:
        return resolve_target(
            dsn=args.dsn,
            dsn_env=args.dsn_env,
            password_env=args.password_env,
            profile=profile,
        )
    except DsnError as exc:
        raise UsageError(str(exc)) from None


def _settings(args: argparse.Namespace, profile: Any) -> Any:
    from rds_tui.direct.engine import DirectSettings

    return DirectSettings.of(
        profile,
        time_unit_seconds=args.time_unit,
        expected_cutoff_seconds=args.expected_cutoff,
        expected_in_transaction_cutoff_seconds=args.expected_in_transaction_cutoff,
    )


def probe_command(args: argparse.Namespace) -> int:
    from rds_tui.cli.tests import err, resolve_tests
    from rds_tui.direct.engine import DirectUnavailable, require_direct
    from rds_tui.service.runs import DispatchOptions

    if args.read_only:
        raise UsageError("--read-only: running probes is disabled")
    profile = _profile(args)
    tests = resolve_tests(args.tests, args.all, profile)
    try:
        require_direct()
    except DirectUnavailable as exc:
        raise UsageError(str(exc)) from None
    target = _target(args, profile)
    for warning in target.warnings:
        err(f"warning: {warning}")
    settings = _settings(args, profile)
    duration = args.duration or getattr(profile, "default_duration", None)
    options = DispatchOptions(
        duration_minutes=duration,
        run_sequentially=bool(args.sequential),
        heartbeat_interval_seconds=args.heartbeat_interval,
        notify_interval_seconds=args.notify_interval,
        stop_on_disconnect=False if args.keep_going else None,
        keepalive_interval_seconds=args.keepalive_interval,
    )
    interval = args.poll_interval or min(
        MAX_POLL_SECONDS, max(DIRECT_POLL_INTERVAL_SECONDS, settings.time_unit_seconds)
    )
    run = DirectRun(args, profile, target, settings, tests, options, interval)
    return run.main()


# --- the run ------------------------------------------------------------------------------


class DirectRun:
    """One `probe` command: dispatch, monitor, and stop on a signal (asking first on a
    terminal for Ctrl-C), recording what the probes measured either way."""

    def __init__(
        self,
        args: argparse.Namespace,
        profile: Any,
        target: Any,
        settings: Any,
        tests: list[str],
        options: Any,
        interval: float,
    ) -> None:
        from rds_tui.cli.tests import _Session

        self.args, self.profile, self.target = args, profile, target
        self.settings, self.tests, self.options = settings, tests, options
        self.interval = interval
        self.session = _Session()
        self.session.as_json = args.json
        self.interactive = sys.stdin.isatty() and not args.yes and not args.json
        self.signal: int | None = None  # the signal that asked to stop
        self.watching: asyncio.Future[Any] | None = None
        self.answer: asyncio.Future[str] | None = None

    def main(self) -> int:
        try:
            return asyncio.run(self._main())
        except KeyboardInterrupt:  # before the loop's handlers were installed
            from rds_tui.cli.tests import err

            err("\nInterrupted before any probe started.")
            return cli.EXIT_INTERRUPTED

    def _on_signal(self, signum: int) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result("y")  # a second Ctrl-C answers the question
            return
        self.signal = signum
        if self.watching is not None and not self.watching.done():
            self.watching.cancel()

    async def _main(self) -> int:
        from rds_tui.api_errors import ApiError
        from rds_tui.cli.tests import _api_failure
        from rds_tui.direct.engine import DirectClient
        from rds_tui.service.runs import RunService

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)
        service = RunService()
        profile_name = getattr(self.profile, "name", None)
        self._print_plan()
        try:
            async with DirectClient(self.target, self.settings) as client:
                self.watching = asyncio.ensure_future(
                    service.dispatch(
                        client,
                        self.tests,
                        self.options,
                        profile_name=profile_name,
                        poll_interval=self.interval,
                    )
                )
                try:
                    dispatched = await self.watching
                except asyncio.CancelledError:
                    return self._interrupted_before_start()
                return await self._follow(service, client, dispatched)
        except ApiError as exc:
            return _api_failure(exc, self.args.json, {"tests": self.tests})

    def _print_plan(self) -> None:
        from rds_tui import catalog
        from rds_tui.cli.tests import out

        if self.args.json:
            return
        out(f"Probing {self.target.display()} directly from this machine (no Pulp)")
        out("Tests to run:")
        for name in self.tests:
            builtin = catalog.get(name)
            out(f"  - {name}: {builtin.description}" if builtin else f"  - {name}")
        out()

    def _interrupted_before_start(self) -> int:
        from rds_tui.cli.tests import err

        err("\nInterrupted while connecting: no probe started.")
        return cli.EXIT_INTERRUPTED

    async def _follow(self, service: Any, client: Any, dispatched: Any) -> int:
        from rds_tui.cli.tests import _monitor, _run_document, err, out

        run = dispatched.run
        self.session.run = run
        if dispatched.save_error is not None:
            err(
                f"warning: could not save the run to the history ({dispatched.save_error}); "
                "its results are printed below only."
            )
        if self.args.json:
            self.session.json_document = _run_document(run, client, None)
        else:
            self._print_started(run, dispatched.response, client)
        while True:
            self.signal = None
            self.watching = asyncio.ensure_future(
                _monitor(self.session, service, client, run, self.interval)
            )
            try:
                return await self.watching
            except asyncio.CancelledError:
                if self.signal is None:
                    raise
            if self.signal == signal.SIGINT and self.interactive and not await self._ask():
                out("Going on.")
                continue
            return await self._stop(service, client, run)

    def _print_started(self, run: Any, response: Any, client: Any) -> None:
        from rds_tui.cli.tests import out

        server = client.server or {}
        unit = self.settings.time_unit_seconds
        out(
            f"✓ Connected: PostgreSQL {server.get('server_version', '?')} as "
            f"{server.get('user', '?')}"
        )
        out(f"✓ Started {len(response.tasks)} probe(s) in this process")
        for task in response.tasks:
            out(f"  - {task.test_name} (probe {task.task_id})")
        out(
            f"Time unit {unit:g} s, duration {response.duration_minutes} units, expected "
            f"cutoff {self.settings.cutoff:g} s"
            + (
                f" (in a transaction {self.settings.in_transaction_cutoff:g} s)"
                if self.settings.in_transaction_cutoff != self.settings.cutoff
                else ""
            )
        )
        out()
        out(f"Run ID: {run.id}  (rds-tui report {run.id})")
        out("The probes live as long as this command: Ctrl-C stops them (partial results kept).")
        out()

    async def _ask(self) -> bool:
        """Ask on the terminal whether to stop; a second Ctrl-C means yes."""
        loop = asyncio.get_running_loop()
        self.answer = loop.create_future()
        answer = self.answer

        def readable() -> None:
            line = sys.stdin.readline()
            if not answer.done():
                answer.set_result(line)

        print(STOP_QUESTION, end="", file=sys.stderr, flush=True)
        loop.add_reader(sys.stdin.fileno(), readable)
        try:
            text = await answer
        finally:
            loop.remove_reader(sys.stdin.fileno())
            self.answer = None
        return text.strip().lower() in ("y", "yes")

    async def _stop(self, service: Any, client: Any, run: Any) -> int:
        from rds_tui.cli.tests import _finish, err
        from rds_tui.runs import RunError
        from rds_tui.service.runs import stored_snapshots

        err(f"\nStopping {len(run.pending_tasks())} probe(s): closing their connections ...")
        try:
            await service.stop_direct(client, run)
        except RunError as exc:
            err(f"warning: could not save the partial results to the run history: {exc}")
        stopped = [
            task.test_name
            for task in run.tasks
            if run.final.get(task.task_href, {}).get("state") == "canceled"
        ]
        _finish(
            run,
            client,
            stored_snapshots(run),
            self.args.json,
            extra_json={"monitoring": "interrupted", "stopped_early": stopped},
            extra_lines=[
                "",
                (
                    f"Interrupted: {len(stopped)} probe(s) stopped early, their results are "
                    f"partial: {', '.join(stopped) or 'none'}."
                ),
            ],
        )
        return cli.EXIT_INTERRUPTED
