"""Task entry points pulpcore dispatches: one per test, so a task's name says which test.

They only orchestrate: settings in, a probe run (rds_probes), progress
reports out (saved on the task's own default connection, never the probe's).
"""

import logging
import multiprocessing

from django.db import DatabaseError, connection
from pulpcore.plugin.models import ProgressReport, Task
from rds_probes import Lifeline, ProbeOptions, run_probe

from pulp_rds_tests.app import config
from pulp_rds_tests.app.database import release_django_alias, target_from_django

TASK_NAME_PREFIX = f"{__name__}."
_logger = logging.getLogger(__name__)


class TaskProgress:
    """The probe's ProgressSink: Pulp progress reports of the current task.

    Changes are kept until flush(), which the probe calls at most once a second: it
    creates the reports that are new and updates the changed ones in one statement.
    """

    FIELDS = ("message", "state", "done", "total")

    def __init__(self, task: Task, time_unit_seconds: float):
        self._task = task
        self._unit = time_unit_seconds
        self._reports: dict[str, ProgressReport] = {}
        self._changed: set[str] = set()
        self._saved: set[str] = set()  # codes whose report exists in the database

    def _report(self, code: str, message: str, **fields) -> None:
        report = self._reports.get(code)
        if report is None:
            report = ProgressReport(task=self._task, code=code, message=message, **fields)
            self._reports[code] = report
        else:
            for name, value in fields.items():
                setattr(report, name, value)
            report.message = message
        self._changed.add(code)

    def flush(self) -> None:
        changed, self._changed = sorted(self._changed), set()
        # Progress is best effort: a hiccup of Pulp's own connection must not end the
        # measurement. Closing it lets Django reconnect; the next flush tries again.
        try:
            new = [code for code in changed if code not in self._saved]
            for code in new:
                self._reports[code].save()
                self._saved.add(code)
            existing = [self._reports[code] for code in changed if code not in new]
            if existing:
                ProgressReport.objects.bulk_update(existing, self.FIELDS)
        except DatabaseError:
            _logger.warning("Could not save progress reports; the probe goes on.", exc_info=True)
            self._changed.update(changed)
            connection.close()

    def elapsed(self, done: int, total: int) -> None:
        unit = "Elapsed minutes" if self._unit == 60 else f"Elapsed time units ({self._unit:g} s)"
        state = "completed" if done >= total else "running"
        self._report("rds.elapsed", unit, done=done, total=total, state=state)

    def counter(self, code: str, message: str, value: int) -> None:
        self._report(code, message, done=value, state="running")

    def disconnected(self, message: str, after_ms: int, planned_ms: int) -> None:
        # done/total in milliseconds: clients read the time of death from `done`.
        self._report("rds.disconnect", message, done=after_ms, total=planned_ms, state="failed")

    def finish(self) -> None:
        """Counters and elapsed time end with the task (a disconnect report stays failed)."""
        for code, report in self._reports.items():
            if report.state == "running":
                report.state = "completed"
                self._changed.add(code)
        self.flush()


def _worker_lifeline() -> Lifeline | None:
    """The pulpcore worker's end of the task process: readable once the worker is gone.

    pulpcore runs each task in a multiprocessing child of the worker; multiprocessing
    gives the child the read end of a pipe that only the parent writes to, so the kernel
    closes it when the worker dies, even by SIGKILL. A probe watches it along with its
    socket and stops at once instead of holding its connection for hours.
    """
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return None
    return Lifeline(parent.sentinel, f"the pulpcore worker running this task (pid {parent.pid})")


def _run(
    test_name: str,
    duration_minutes: int,
    stop_on_disconnect: bool = True,
    heartbeat_interval_seconds: float | None = None,
    notify_interval_seconds: float | None = None,
    keepalive_interval_seconds: int | None = None,
) -> dict:
    task = Task.current()
    options = ProbeOptions(
        test_name=test_name,
        task_id=str(task.pk),
        duration_minutes=duration_minutes,
        time_unit_seconds=config.time_unit_seconds(),
        expected_cutoff_seconds=config.expected_cutoff_seconds(),
        expected_in_transaction_cutoff_seconds=config.expected_in_transaction_cutoff_seconds(),
        heartbeat_interval_seconds=heartbeat_interval_seconds,
        notify_interval_seconds=notify_interval_seconds,
        keepalive_interval_seconds=keepalive_interval_seconds,
        stop_on_disconnect=stop_on_disconnect,
    )
    alias = f"rds_probe_{task.pk.hex}"
    progress = TaskProgress(task, options.time_unit_seconds)
    try:
        target = target_from_django(config.probe_database_overrides(), alias)
        result = run_probe(options, target, progress, _worker_lifeline())
    finally:
        release_django_alias(alias)
    progress.finish()
    return result


def _entry_point(test_name: str):
    """A module-level task function named after its test (pulpcore dispatches it by name)."""

    def run(**options) -> dict:
        return _run(test_name, **options)

    run.__name__ = run.__qualname__ = test_name
    run.__doc__ = f"Run the probe {test_name} (rds_probes)."
    return run


test_1_idle_connection = _entry_point("test_1_idle_connection")
test_2_active_heartbeat = _entry_point("test_2_active_heartbeat")
test_3_long_transaction = _entry_point("test_3_long_transaction")
test_4_transaction_with_work = _entry_point("test_4_transaction_with_work")
test_5_session_variable = _entry_point("test_5_session_variable")
test_6_listen_notify = _entry_point("test_6_listen_notify")
test_7_listen_with_activity = _entry_point("test_7_listen_with_activity")
test_8_listen_with_heartbeat = _entry_point("test_8_listen_with_heartbeat")
test_9_tcp_keepalive = _entry_point("test_9_tcp_keepalive")
