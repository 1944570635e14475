"""`rds_connection_tests` (alias `rds-connection-tests`), `watch RUN`, `cancel RUN`.

The guide's "Method 2" command line, with its output text: list, dispatch, monitor.
Every dispatch is written to the run history right after the server accepted it,
before monitoring, so `watch` can re-attach after Ctrl-C or a closed terminal.

Only argparse is imported at module level: the rest is imported when a command runs,
which keeps `--list` fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rds_tui import cli
from rds_tui.cli import UsageError
from rds_tui.constants import (
    DEFAULT_DURATION_MINUTES,
    HEADLESS_POLL_INTERVAL_SECONDS,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
)

GUIDE_NAME = "rds_connection_tests"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _duration(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of minutes") from None
    if not MIN_DURATION_MINUTES <= value <= MAX_DURATION_MINUTES:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES} minutes"
        )
    return value


def _add_tests_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "-t", "--tests", "--test", dest="tests", action="append", metavar="TEST", help=help_text
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    common = cli.connection_parent()

    tests = cli.add_command_parser(
        subparsers,
        GUIDE_NAME,
        aliases=["rds-connection-tests"],
        parents=[common],
        help="list, dispatch and monitor the RDS connection tests (the guide's command)",
        description="List the tests, dispatch some and monitor them until they finish.",
    )
    tests.add_argument("--list", action="store_true", help="list the available tests and exit")
    _add_tests_option(
        tests,
        "a test to run (repeatable): full name, number (6) or unique prefix; the fix "
        "patterns only this way: -t 8 (LISTEN with heartbeat), -t 9 (TCP keepalives)",
    )
    tests.add_argument(
        "--all",
        action="store_true",
        help="run the guide's seven tests (not the fix patterns 8 and 9: -t 8, -t 9, or verify)",
    )
    tests.add_argument(
        "--monitor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="poll the tasks until they finish (default) or just dispatch",
    )
    tests.add_argument(
        "--poll-interval",
        type=_positive_float,
        metavar="SECONDS",
        help=(
            f"seconds between status checks (default {HEADLESS_POLL_INTERVAL_SECONDS:.0f}, "
            "or the profile's)"
        ),
    )
    tests.add_argument(
        "--duration",
        type=_duration,
        metavar="MINUTES",
        help=(
            "how long each test holds its connection, in the server's minutes "
            f"(default {DEFAULT_DURATION_MINUTES})"
        ),
    )
    tests.add_argument("--sequential", action="store_true", help="run the tests one after another")
    tests.add_argument("--json", action="store_true", help="print JSON instead of text")
    tests.set_defaults(handler=run_tests_command)

    watch = cli.add_command_parser(
        subparsers,
        "watch",
        parents=[common],
        help="re-attach to a run and monitor it to the end",
        description="Monitor the tasks of an earlier run (see `rds-tui runs`) until they finish.",
    )
    watch.add_argument(
        "run",
        metavar="RUN",
        nargs="?",
        default="last",
        help='run id, unique prefix, or "last" (default)',
    )
    watch.add_argument("--poll-interval", type=_positive_float, metavar="SECONDS")
    watch.add_argument("--json", action="store_true", help="print JSON instead of text")
    watch.set_defaults(handler=watch_command)

    cancel = cli.add_command_parser(
        subparsers,
        "cancel",
        parents=[common],
        help="cancel the unfinished tasks of a run",
        description="Cancel a run's unfinished tasks (all of them, or those given with -t).",
    )
    cancel.add_argument("run", metavar="RUN", help='run id, unique prefix, or "last"')
    _add_tests_option(cancel, "cancel only this test's task (repeatable)")
    cancel.add_argument("--json", action="store_true", help="print JSON instead of text")
    cancel.set_defaults(handler=cancel_command)


# --- output helpers -------------------------------------------------------------------


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def emit_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2, default=str), flush=True)


def _api_failure(exc: Exception, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    from rds_tui.cli.hints import describe

    err(f"rds-tui: error: {describe(exc)}")
    if as_json:
        emit_json({**(extra or {}), "error": describe(exc), "error_type": type(exc).__name__})
    return cli.EXIT_API


# --- --list ---------------------------------------------------------------------------


def list_tests(args: argparse.Namespace) -> int:
    """The guide's list. Asks the server when one is configured (the GET is open, no
    credentials needed); otherwise, or when it cannot, uses the built-in catalog."""
    from rds_tui import catalog

    connection = cli.resolve_connection(args)
    entries: list[tuple[str, str]]
    source, note, server = "builtin", None, None
    if connection.api_root:
        import asyncio

        fetched = asyncio.run(_fetch_catalog(connection))
        if isinstance(fetched, Exception):
            from rds_tui.cli.hints import describe

            note = (
                f"could not get the list from {connection.api_root} ({describe(fetched)}); "
                "showing the built-in catalog"
            )
        else:
            source, server = "server", fetched
    else:
        note = "no server given (--api-root or PULP_API_ROOT): showing the built-in catalog"
    if server is not None:
        entries = [(t.name, t.description or "") for t in server.test_infos()]
        fix_tests = list(server.fix_tests)
    else:
        entries = [(t.name, t.description) for t in catalog.BUILTIN_CATALOG]
        fix_tests = list(catalog.FIX_TEST_NAMES)

    if args.json:
        document: dict[str, Any] = {
            "source": source,
            "api_root": connection.api_root,
            "available_tests": [name for name, _ in entries],
            "descriptions": dict(entries),
            "fix_tests": fix_tests,
        }
        if server is not None:
            document["catalog"] = server.model_dump(mode="json")
        if note:
            document["note"] = note
        emit_json(document)
        return cli.EXIT_OK
    out("=== Available RDS Connection Tests ===")
    out()
    for name, description in entries:
        out(f"  {name}")
        out(f"    {description}")
        out()
    if fix_tests:  # on stderr: stdout stays the guide's list
        err(
            f"Fix patterns (not part of --all; run them with -t 8, -t 9 or `rds-tui verify`): "
            f"{', '.join(fix_tests)}."
        )
    if note:
        err(f"Note: {note}.")
    return cli.EXIT_OK


async def _fetch_catalog(connection: Any) -> Any:
    from rds_tui.api import ApiError

    try:
        async with connection.client(timeout=10.0) as client:
            return await client.catalog()
    except ApiError as exc:
        return exc


# --- dispatch -------------------------------------------------------------------------


def resolve_tests(requested: list[str] | None, all_tests: bool, profile: Any = None) -> list[str]:
    """The test names to dispatch, in order, without duplicates; UsageError otherwise."""
    from rds_tui import catalog

    if all_tests:
        if requested:
            raise UsageError("use either --all or -t/--tests, not both")
        return list(catalog.TEST_NAMES)
    if not requested and profile is not None and profile.default_tests:
        requested = list(profile.default_tests)
    if not requested:
        raise UsageError(
            "no tests chosen: give -t NAME (repeatable) or --all; --list shows the tests"
        )
    names: list[str] = []
    for item in requested:
        for text in item.split(","):
            if not text.strip():
                continue
            name = catalog.resolve_name(text)
            if name is None:
                raise UsageError(
                    f"unknown test {text.strip()!r}; the tests are: "
                    + ", ".join(catalog.KNOWN_TEST_NAMES)
                )
            if name not in names:
                names.append(name)
    return names


def run_tests_command(args: argparse.Namespace) -> int:
    if args.list:
        return list_tests(args)
    connection = cli.resolve_connection(args)
    tests = resolve_tests(args.tests, args.all, connection.profile)
    cli.require_api_root(connection)
    cli.require_password(connection)
    if args.read_only:
        raise UsageError("--read-only: dispatching tests is disabled")
    profile = connection.profile
    duration = args.duration or (profile.default_duration if profile is not None else None)
    interval = _poll_interval(args, profile)
    return _run_async(
        lambda session: _dispatch_and_monitor(session, args, connection, tests, duration, interval)
    )


def _poll_interval(args: argparse.Namespace, profile: Any) -> float:
    if getattr(args, "poll_interval", None):
        return args.poll_interval
    if profile is not None and profile.poll_interval:
        return profile.poll_interval
    return HEADLESS_POLL_INTERVAL_SECONDS


def _run_async(make_coroutine: Any) -> int:
    """Run `make_coroutine(session)`. Ctrl-C or SIGTERM cancel it (the client closes its
    connection); the output then says how to re-attach, and the exit code is 130."""
    import asyncio
    import signal

    session = _Session()

    async def with_sigterm() -> int:
        main_task = asyncio.current_task()
        if main_task is not None and threading_is_main():
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
        return await make_coroutine(session)

    try:
        return asyncio.run(with_sigterm())
    except (KeyboardInterrupt, asyncio.CancelledError):
        session.report_interrupt()
        return cli.EXIT_INTERRUPTED


def threading_is_main() -> bool:
    """Signal handlers can only be installed from the main thread."""
    import threading

    return threading.current_thread() is threading.main_thread()


class _Session:
    """What Ctrl-C needs to say: which run is being monitored, and its JSON so far."""

    def __init__(self) -> None:
        self.run: Any = None
        self.correlation_id: str | None = None  # set before a dispatch is sent
        self.as_json = False
        self.json_document: dict[str, Any] | None = None

    def report_interrupt(self) -> None:
        if self.run is None:
            err("\nInterrupted.")
            if self.correlation_id:
                err(
                    f"If the server accepted the dispatch, its tasks have logging_cid "
                    f"{self.correlation_id} (GET .../api/v3/tasks/?logging_cid=...)."
                )
            return
        if self.as_json and self.json_document is not None:
            self.json_document["monitoring"] = "interrupted"
            emit_json(self.json_document)
        err("")
        err("Monitoring stopped. The tasks keep running on the server.")
        err(f"Re-attach with:  rds-tui watch {self.run.id}")
        err(f"Cancel them with: rds-tui cancel {self.run.id}")


async def _dispatch_and_monitor(
    session: _Session,
    args: argparse.Namespace,
    connection: Any,
    tests: list[str],
    duration: int | None,
    interval: float,
    options: Any = None,
    finish: Any = None,
) -> int:
    """Dispatch `tests`, record the run, monitor it. `options` (DispatchOptions) replaces
    the ones made from `duration` and --sequential; `finish` replaces _finish (verify)."""
    import uuid

    from rds_tui import catalog
    from rds_tui.api import ApiError
    from rds_tui.service.runs import DispatchOptions, RunService

    api_root = cli.require_api_root(connection)
    as_json = args.json
    if not as_json:
        out(f"Dispatching {len(tests)} test(s) to {api_root}")
        out("Tests to run:")
        for name in tests:
            builtin = catalog.get(name)
            out(f"  - {name}: {builtin.description}" if builtin else f"  - {name}")
        out()
    correlation_id = session.correlation_id = uuid.uuid4().hex
    if options is None:
        options = DispatchOptions(duration_minutes=duration, run_sequentially=bool(args.sequential))
    service = RunService()
    try:
        async with connection.client(correlation_id=correlation_id) as client:
            dispatched = await service.dispatch(
                client,
                tests,
                options,
                profile_name=connection.profile_name,
                poll_interval=interval,
            )
            run = dispatched.run
            if dispatched.save_error is not None:
                err(
                    f"warning: could not save the run to the history ({dispatched.save_error}); "
                    "`watch` will not find it. Task ids are printed below."
                )
            session.run, session.as_json = run, as_json
            if as_json:
                session.json_document = _run_document(run, client, None)
            else:
                _print_dispatched(run, dispatched.response, client)
            if not args.monitor:
                if as_json:
                    document = _run_document(run, client, None)
                    document["monitoring"] = "disabled"
                    emit_json(document)
                else:
                    out(f"Monitoring disabled. Follow the tasks with: rds-tui watch {run.id}")
                return cli.EXIT_OK
            return await _monitor(session, service, client, run, interval, finish or _finish)
    except ApiError as exc:
        extra = session.json_document if session.run is not None else {"tests": tests}
        code = _api_failure(exc, as_json, extra)
        if session.run is not None:
            err(f"The tasks keep running; re-attach with: rds-tui watch {session.run.id}")
        return code


def _print_dispatched(run: Any, response: Any, client: Any) -> None:
    out(f"✓ Successfully dispatched {len(response.tasks)} test(s)")
    out()
    out("Dispatched Tasks:")
    for task in response.tasks:
        out(f"  - {task.test_name}")
        out(f"    Task ID: {task.task_id}")
        out(f"    Task URL: {client.absolute_url(task.task_href)}")
    out()
    out(f"Run ID: {run.id}  (rds-tui watch {run.id} re-attaches, rds-tui report {run.id})")
    out()


def _run_document(run: Any, client: Any, snapshots: Any) -> dict[str, Any]:
    """The --json document of a run: where, what, and each task's latest state."""
    by_href = {s.task_href: s for s in snapshots or ()}
    tasks = []
    for task in run.tasks:
        snapshot = by_href.get(task.task_href)
        stored = run.final.get(task.task_href, {})
        known = snapshot is not None and (snapshot.task is not None or snapshot.missing)
        data = snapshot.as_dict() if known else stored
        tasks.append(
            {
                "test_name": task.test_name,
                "task_id": task.task_id,
                "task_href": task.task_href,
                "task_url": client.absolute_url(task.task_href) if client else task.task_href,
                "state": data.get("state"),
                "started_at": data.get("started_at"),
                "finished_at": data.get("finished_at"),
                "result": data.get("result"),
                "error": data.get("error"),
            }
        )
    return {
        "run_id": run.id,
        "api_root": run.api_root,
        "correlation_id": run.correlation_id,
        "tests": run.tests,
        "options": run.options,
        "tasks": tasks,
    }


# --- monitoring -------------------------------------------------------------------------


class StatusPrinter:
    """Turns monitor events into the guide's text output."""

    def __init__(self, interval: float, run: Any) -> None:
        from rds_tui.outcome import RunTiming

        self.interval = interval
        self.run_id = run.id
        self.direct = getattr(run, "kind", "pulp") == "direct"
        self.timing = RunTiming.from_run(run)
        self.results_shown: set[str] = set()

    def header(self) -> None:
        out("Starting task monitoring...")
        out(f"Polling every {self.interval:g} seconds")
        if self.direct:
            out("Press Ctrl+C to stop the probes (partial results are kept)")
        else:
            out("Press Ctrl+C to stop monitoring (tasks will continue running)")

    def status_check(self, snapshots: list[Any], elapsed_seconds: float) -> None:
        out()
        out(f"--- Status Check (T+{self.timing.server_minutes(elapsed_seconds)} minutes) ---")
        for snapshot in snapshots:
            for line in self.task_lines(snapshot):
                out(line)
        running = sum(1 for s in snapshots if not s.is_final)
        if running:
            out(f"{running} task(s) still running...")

    def task_lines(self, snapshot: Any) -> list[str]:
        name, task = snapshot.test_name, snapshot.task
        if not snapshot.is_final:
            detail = _progress_text(snapshot)
            return [f"  {name}: {snapshot.state}" + (f" ({detail})" if detail else "")]
        lines = [f"  {name}: {snapshot.state.upper()}"]
        if snapshot.task_href in self.results_shown:
            return lines
        self.results_shown.add(snapshot.task_href)
        if snapshot.missing:
            lines.append("    The server no longer has this task (purged, or another domain).")
        elif task is not None and task.error_description:
            lines.append(f"    Error: {task.error_description}")
        if task is not None and task.result is not None:
            lines.append(f"    Result: {_result_text(task.result, self.run_id)}")
        return lines


def _progress_text(snapshot: Any) -> str:
    reports = [r for r in snapshot.progress if r.message]
    parts = []
    for report in reports[:2]:
        if report.total:
            parts.append(f"{report.message}: {report.done or 0}/{report.total}")
        elif report.done is not None:
            parts.append(f"{report.message}: {report.done}")
        else:
            parts.append(report.message)
    if snapshot.connection_died:
        parts.append("connection died")
    return "; ".join(parts)


def _result_text(result: Any, run_id: str) -> str:
    """The result as the original printed it (a Python dict), minus the long timeline."""
    if isinstance(result, dict) and isinstance(result.get("events"), list):
        events = result["events"]
        result = {k: v for k, v in result.items() if k != "events"}
        result["events"] = f"<{len(events)} events: rds-tui report {run_id}>"
    return str(result)


async def _monitor(
    session: _Session, service: Any, client: Any, run: Any, interval: float, finish: Any = None
) -> int:
    """Poll until every task is final; the service stores finished results with the run."""
    from rds_tui.api import ApiError
    from rds_tui.monitor import Polled, PollFailed, PollRecovered
    from rds_tui.service.runs import RunNotSaved

    printer = StatusPrinter(interval, run)
    as_json = session.as_json
    if not as_json:
        printer.header()

    def on_event(event: Any) -> None:
        if isinstance(event, RunNotSaved):
            err(f"warning: could not save results to the run history: {event.error}")
        elif isinstance(event, Polled):
            if as_json:
                session.json_document = _run_document(run, client, event.snapshots)
            else:
                printer.status_check(event.snapshots, event.elapsed_seconds)
        elif isinstance(event, PollFailed):
            since = event.seconds_since_success
            when = (
                f"last successful poll {since:.0f} s ago"
                if since is not None
                else "no successful poll yet"
            )
            err(
                f"! Status check failed: {event.error} ({when}; retry {event.failures} "
                f"in {event.retry_in:g} s)"
            )
        elif isinstance(event, PollRecovered):
            err(
                f"✓ Server reachable again after {event.outage_seconds:.0f} s "
                f"({event.failures} failed check(s))"
            )

    try:
        snapshots = await service.watch(service.monitor(client, run, interval), run, on_event)
    except ApiError as exc:
        code = _api_failure(exc, as_json, session.json_document)
        err(f"Monitoring stopped. The tasks keep running; re-attach with: rds-tui watch {run.id}")
        return code
    return (finish or _finish)(run, client, snapshots, as_json)


def _finish(
    run: Any,
    client: Any,
    snapshots: list[Any],
    as_json: bool,
    extra_json: dict[str, Any] | None = None,
    extra_lines: list[str] | None = None,
) -> int:
    """The closing lines, summary and diagnosis (then `extra_lines`; `extra_json` joins
    the JSON document); the exit code from the tasks' states."""
    from rds_tui import report
    from rds_tui.service.runs import report_profile

    not_completed = [s for s in snapshots if not s.succeeded]
    tasks = [s.as_dict() for s in snapshots]
    summary, diagnosis = _report(tasks, run.profile)
    collect = report.collect_lines(run, tasks, report_profile(run))
    if as_json:
        document = _run_document(run, client, snapshots)
        document["monitoring"] = "finished"
        document["all_completed"] = not not_completed
        if diagnosis is not None:
            document["diagnosis"] = _plain(diagnosis)
        document["collect_next"] = collect
        document.update(extra_json or {})
        emit_json(document)
    else:
        out()
        if not not_completed:
            out("✓ All tasks completed!")
        else:
            listed = ", ".join(f"{s.test_name} {s.state}" for s in not_completed)
            out(f"✗ All tasks finished, {len(not_completed)} did not complete: {listed}")
        for line in summary:
            out(line)
        if diagnosis is not None:
            out()
            for line in diagnosis.lines():
                out(line)
        for line in extra_lines or ():
            out(line)
        out()
        out("COLLECT NEXT")
        for line in collect:
            out(f"  {line}" if line else "")
        out()
        out(
            f"Run {run.id}: rds-tui report {run.id} --format md (or jira, csv, json, svg) "
            "exports the results."
        )
    return cli.EXIT_OK if not not_completed else cli.EXIT_TASKS_FAILED


def _report(tasks: list[dict[str, Any]], profile: str | None = None) -> tuple[list[str], Any]:
    """The TEST SUMMARY lines and the diagnosis (rds_tui.report)."""
    from rds_tui import report

    return report.summary_lines(tasks), report.diagnose(tasks, profile)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a dataclass / pydantic object."""
    import dataclasses

    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


# --- watch and cancel --------------------------------------------------------------------


def _refuse_direct(run: Any, what: str) -> None:
    """A direct run's probes lived inside the `probe` command that started them."""
    if getattr(run, "kind", "pulp") == "direct":
        raise UsageError(
            f"run {run.id} is a direct run: its probes ran inside the `rds-tui probe` "
            f"command that started them and ended with it, so {what}. `rds-tui report "
            f"{run.id}` shows what it recorded."
        )


def watch_command(args: argparse.Namespace) -> int:
    run = cli.load_run(args.run)
    if not run.finished:
        _refuse_direct(run, "there is nothing to re-attach to")
    if run.finished:
        return _show_finished(run, args.json)
    connection = cli.resolve_connection(args, run=run)
    cli.require_password(connection)
    interval = _poll_interval(args, connection.profile)
    return _run_async(lambda session: _watch(session, args, connection, run, interval))


async def _watch(
    session: _Session,
    args: argparse.Namespace,
    connection: Any,
    run: Any,
    interval: float,
) -> int:
    from rds_tui.api import ApiError
    from rds_tui.service.runs import RunService

    session.run, session.as_json = run, args.json
    if not args.json:
        out(f"Watching run {run.id}: {len(run.tasks)} test(s) on {run.api_root}")
        for task in run.tasks:
            out(f"  - {task.test_name} (task {task.task_id})")
        out()
    try:
        async with connection.client(correlation_id=run.correlation_id) as client:
            session.json_document = _run_document(run, client, None)
            return await _monitor(session, RunService(), client, run, interval)
    except ApiError as exc:
        return _api_failure(exc, args.json, session.json_document)


def _show_finished(run: Any, as_json: bool) -> int:
    """A run that already finished: its stored results, without asking the server."""
    from rds_tui.service.runs import stored_snapshots

    snapshots = stored_snapshots(run)
    if not as_json:
        out(f"Run {run.id} finished earlier; its results from the run history:")
        printer = StatusPrinter(0, run)
        for snapshot in snapshots:
            for line in printer.task_lines(snapshot):
                out(line)
    return _finish(run, None, snapshots, as_json)


def cancel_command(args: argparse.Namespace) -> int:
    from rds_tui import catalog

    if args.read_only:
        raise UsageError("--read-only: canceling tasks is disabled")
    run = cli.load_run(args.run)
    _refuse_direct(run, "nothing of it runs any more (Ctrl-C in that command stops its probes)")
    selected = list(run.tasks)
    if args.tests:
        wanted = []
        for text in args.tests:
            name = catalog.resolve_name(text) or text
            if name not in {t.test_name for t in run.tasks}:
                raise UsageError(
                    f"run {run.id} has no test {text!r}; its tests are: "
                    + ", ".join(t.test_name for t in run.tasks)
                )
            wanted.append(name)
        selected = [t for t in run.tasks if t.test_name in wanted]
    connection = cli.resolve_connection(args, run=run)
    cli.require_password(connection)
    return _run_async(lambda session: _cancel(args, connection, run, selected))


async def _cancel(args: argparse.Namespace, connection: Any, run: Any, selected: list[Any]) -> int:
    from rds_tui.api import ApiError
    from rds_tui.service.runs import RunService

    outcomes = []
    try:
        async with connection.client(correlation_id=run.correlation_id) as client:
            async for outcome in RunService().cancel(client, run, selected):
                outcomes.append(
                    {
                        "test_name": outcome.test_name,
                        "task_id": outcome.task_id,
                        "state": outcome.state,
                        "canceled": outcome.canceled,
                        **({} if outcome.canceled else {"note": "already finished"}),
                    }
                )
                if args.json:
                    continue
                if outcome.canceled:
                    out(
                        f"  {outcome.test_name}: {outcome.state} "
                        f"(cancel requested, task {outcome.task_id})"
                    )
                else:
                    out(f"  {outcome.test_name}: already finished ({outcome.state})")
    except ApiError as exc:
        return _api_failure(exc, args.json, {"run_id": run.id, "tasks": outcomes})
    if args.json:
        emit_json({"run_id": run.id, "tasks": outcomes})
    else:
        count = sum(1 for o in outcomes if o["canceled"])
        out(f"Cancel requested for {count} task(s) of run {run.id}.")
    return cli.EXIT_OK
