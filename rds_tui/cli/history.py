"""`runs` (the local run history) and `report RUN` (summary, diagnosis, exports).

Only argparse and the CLI's shared helpers are imported at module level: the rest is
imported when a command runs, which keeps every other command's start-up fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from rds_tui import cli
from rds_tui.cli import UsageError

# Spellings accepted by --format -> rds_tui.report's format names (rds_tui.report.FORMATS;
# listed here so `--help` does not import the report).
FORMATS = {
    "md": "md",
    "markdown": "md",
    "jira": "jira",
    "csv": "csv",
    "json": "json",
    "svg": "svg",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    runs = cli.add_command_parser(
        subparsers,
        "runs",
        help="list the runs dispatched from this machine, newest first",
        description="The local run history (RDS_TUI_DATA_DIR), newest first.",
    )
    runs.add_argument(
        "-n",
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help="show the N newest runs (default 20; 0 = all)",
    )
    runs.add_argument("--json", action="store_true", help="machine-readable output")
    runs.set_defaults(handler=runs_command)

    common = cli.connection_parent()
    report = cli.add_command_parser(
        subparsers,
        "report",
        parents=[common],
        help="a run's summary, diagnosis, recommendation and what to collect next "
        "(Markdown, Jira, CSV, JSON or an SVG picture); several runs side by side",
        description=(
            "Report on a run: RUN is a run id, a unique prefix of one, or `last`. A run "
            "that has not finished is refreshed from its server first (unless --offline); "
            "if the server cannot be reached the report uses the stored results. With "
            "several runs, they are shown side by side (md, jira), or one after another "
            "(csv, json)."
        ),
    )
    report.add_argument("runs", metavar="RUN", nargs="+", help="run id, unique prefix, or `last`")
    report.add_argument(
        "-f",
        "--format",
        default="md",
        type=_report_format,
        help="md (Markdown, for the ticket; default), jira (Jira wiki markup), csv, json, "
        "or svg (a picture of the run)",
    )
    report.add_argument(
        "--metrics",
        metavar="FILE",
        type=Path,
        help="merge what `aws cloudwatch get-metric-data` printed (the command is in the "
        "report's Collect next section) into the run, then report",
    )
    report.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    report.add_argument(
        "--offline",
        action="store_true",
        help="use only the stored results, do not contact the server",
    )
    report.set_defaults(handler=report_command)


def _report_format(text: str) -> str:
    try:
        return FORMATS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r}: use md, jira, csv, json or svg") from None


def _store() -> Any:
    from rds_tui.runs import RunStore

    return RunStore()


# --- runs ---------------------------------------------------------------------------


def _run_state(run: Any) -> str:
    if run.finished:
        return f"finished: {run.state_summary()}"
    done = len(run.tasks) - len(run.pending_tasks())
    return f"not finished ({done}/{len(run.tasks)} final): rds-tui watch {run.id}"


def runs_command(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    store = _store()
    listing = store.scan()
    for problem in listing.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)
    runs = listing.runs[: args.limit] if args.limit else listing.runs
    if args.json:
        document = [
            {
                "id": run.id,
                "created_at": run.created_at.isoformat(),
                "profile": run.profile,
                "api_root": run.api_root,
                "tests": run.tests,
                "finished": run.finished,
                "states": run.state_summary(),
            }
            for run in runs
        ]
        print(json.dumps(document, indent=2))
        return cli.EXIT_OK
    if not runs:
        print(f"No runs recorded yet (history: {store.directory}).")
        print("Dispatch some with: rds-tui rds_connection_tests -t test_1_idle_connection")
        return cli.EXIT_OK
    rows = [("RUN", "CREATED (UTC)", "PROFILE / SERVER", "TESTS", "STATE")]
    for run in runs:
        rows.append(
            (
                run.id,
                f"{run.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
                run.profile or run.api_root,
                str(len(run.tests or run.tasks)),
                _run_state(run),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    hidden = len(listing.runs) - len(runs)
    if hidden > 0:
        print(f"({hidden} older run(s) not shown: --limit 0 shows all)")
    return cli.EXIT_OK


# --- report -------------------------------------------------------------------------


def report_command(args: argparse.Namespace) -> int:
    from rds_tui.service.runs import ExportError, RunService, render_report, report_profile

    runs = [cli.load_run(name) for name in args.runs]
    if len({run.id for run in runs}) < len(runs):
        raise UsageError("a run is named twice; give each run once")
    if args.metrics is not None:
        if len(runs) > 1:
            raise UsageError("--metrics belongs to one run: give a single RUN")
        _merge_metrics(runs[0], args.metrics)
    tasks = []
    for run in runs:
        live: list[dict[str, Any]] = []
        if not run.finished and run.kind == "direct":
            # Its probes live (or lived) inside their `probe` command: nothing to ask.
            print(
                f"note: run {run.id} is a direct run that has not finished; the report shows "
                "what its `rds-tui probe` command recorded so far",
                file=sys.stderr,
            )
        elif not run.finished and not args.offline:
            live = _refresh_or_warn(args, run)
        tasks.append(run.task_results() + live)
    if len(runs) > 1:
        return _report_many(args, runs, tasks)
    run, profile = runs[0], report_profile(runs[0], getattr(args, "profile", None))
    if not args.output or args.output == "-":
        sys.stdout.write(render_report(run, tasks[0], args.format, profile))
        return cli.EXIT_OK
    try:
        path = RunService().export(run, tasks[0], args.format, Path(args.output), profile)
    except ExportError as exc:
        raise UsageError(f"-o {args.output}: {exc}") from None
    print(f"Report on run {run.id} written to {path}", file=sys.stderr)
    return cli.EXIT_OK


def _merge_metrics(run: Any, path: Path) -> None:
    """Read, check and store the metrics file with the run (untouched on any problem)."""
    from rds_tui.runs import RunError
    from rds_tui.service.runs import RunService

    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--metrics {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--metrics {path}: not a text file") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--metrics {path}: not JSON (line {exc.lineno}: {exc.msg}); save what "
            "`aws cloudwatch get-metric-data ... --output json` printed"
        ) from None
    try:
        series = RunService().merge_metrics(run, document)
    except RunError as exc:
        raise UsageError(f"--metrics {path}: {exc}") from None
    names = ", ".join(s.metric for s in series)
    print(f"Merged {len(series)} metric(s) into run {run.id}: {names}", file=sys.stderr)


def _report_many(args: argparse.Namespace, runs: list[Any], tasks: list[Any]) -> int:
    from rds_tui import report
    from rds_tui.service.runs import ExportError, write_report

    try:
        text = report.render_many(runs, tasks, args.format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return cli.EXIT_OK
    try:
        path = write_report(text, Path(args.output))
    except ExportError as exc:
        raise UsageError(f"-o {args.output}: {exc}") from None
    print(f"Report on {len(runs)} runs written to {path}", file=sys.stderr)
    return cli.EXIT_OK


def _refresh_or_warn(args: argparse.Namespace, run: Any) -> list[dict[str, Any]]:
    """Fresh data for an unfinished run; on failure a warning and stored data only."""
    import asyncio

    from rds_tui.api import ApiError
    from rds_tui.runs import RunError
    from rds_tui.service.runs import RunService

    service = RunService()
    connection = cli.resolve_connection(args, run=run)

    async def refresh() -> list[dict[str, Any]]:
        async with connection.client(correlation_id=run.correlation_id) as client:
            return await service.refresh(client, run)

    try:
        live = asyncio.run(refresh())
    except ApiError as exc:
        from rds_tui.cli.hints import describe

        print(
            f"warning: could not refresh run {run.id} from {run.api_root}: {describe(exc)}\n"
            "warning: the report uses the results stored so far (--offline skips the server)",
            file=sys.stderr,
        )
        return []
    try:
        service.save(run)
    except RunError as exc:
        print(f"warning: {exc}", file=sys.stderr)
    return live
