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

FORMATS = {"md": "md", "markdown": "md", "csv": "csv", "json": "json"}
# Reports are meant to be shared (pasted into a ticket): readable by others.
REPORT_FILE_MODE = 0o644


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

    common = argparse.ArgumentParser(add_help=False)
    cli.add_connection_options(common, suppress=True)
    report = cli.add_command_parser(
        subparsers,
        "report",
        parents=[common],
        help="a run's summary, diagnosis and recommendation as Markdown, CSV or JSON",
        description=(
            "Report on a run: RUN is a run id, a unique prefix of one, or `last`. A run "
            "that has not finished is refreshed from its server first (unless --offline); "
            "if the server cannot be reached the report uses the stored results."
        ),
    )
    report.add_argument("run", metavar="RUN", help="run id, unique prefix, or `last`")
    report.add_argument(
        "-f",
        "--format",
        default="md",
        type=_report_format,
        help="md (Markdown, for the ticket; default), csv or json",
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
        raise argparse.ArgumentTypeError(f"{text!r}: use md, csv or json") from None


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


def _load_run(run_id: str) -> Any:
    from rds_tui.runs import RunError

    try:
        return _store().get(run_id)
    except RunError as exc:
        raise UsageError(str(exc)) from None


def refresh_run(run: Any, client: Any) -> list[dict[str, Any]]:
    """Ask the server for the run's unfinished tasks (one request); record those that
    are final in `run`. Returns the current task dicts of the still-unfinished ones."""
    import asyncio

    pending = run.pending_tasks()
    if not pending:
        return []

    async def fetch() -> list[Any]:
        async with client:
            return await client.tasks([task.task_href for task in pending])

    from rds_tui.models import missing_task_document, task_id_from_href

    current = []
    returned_ids = set()
    for task in asyncio.run(fetch()):
        returned_ids.add(task.task_id)
        document = task.model_dump(mode="json", exclude_none=True)
        if not run.record_task(document):
            current.append(document)
    for task in pending:
        # Absent from the answer: deleted or purged, so it will never finish.
        if task_id_from_href(task.task_href) not in returned_ids:
            run.record_task(missing_task_document(task.task_href))
    return current


def report_command(args: argparse.Namespace) -> int:
    from rds_tui import report

    run = _load_run(args.run)
    live: list[dict[str, Any]] = []
    if not run.finished and not args.offline:
        live = _refresh_or_warn(args, run)
    tasks = run.task_results() + live
    render = {"md": report.to_markdown, "csv": report.to_csv, "json": report.to_json}
    text = render[args.format](run, tasks)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return cli.EXIT_OK
    from rds_tui.filestore import atomic_write_bytes

    path = Path(args.output).expanduser()
    if path.is_dir():
        raise UsageError(f"-o {args.output}: is a directory; give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"-o {args.output}: directory {path.parent} does not exist")
    try:
        atomic_write_bytes(path, text.encode("utf-8"), mode=REPORT_FILE_MODE)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    print(f"Report on run {run.id} written to {path}", file=sys.stderr)
    return cli.EXIT_OK


def _refresh_or_warn(args: argparse.Namespace, run: Any) -> list[dict[str, Any]]:
    """Fresh data for an unfinished run; on failure a warning and stored data only."""
    from rds_tui.api import ApiError
    from rds_tui.runs import RunError

    try:
        connection = cli.resolve_connection(args, run=run)
        live = refresh_run(run, connection.client(correlation_id=run.correlation_id))
    except ApiError as exc:
        print(
            f"warning: could not refresh run {run.id} from {run.api_root}: {exc}\n"
            "warning: the report uses the results stored so far (--offline skips the server)",
            file=sys.stderr,
        )
        return []
    try:
        _store().save(run)
    except (OSError, RunError) as exc:
        print(f"warning: could not save run {run.id}: {exc}", file=sys.stderr)
    return live
