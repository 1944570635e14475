"""Task entry points pulpcore dispatches: one per test, so a task's name says which test.

They only orchestrate: settings in, a probe run (rds_probes), progress
reports out (saved on the task's own default connection, never the probe's).
"""

import logging
import multiprocessing

from django.db import DatabaseError, connection
from pulpcore.plugin.models import ProgressReport, Task
from rds_probes import Lifeline, ProbeOptions, ProgressRecord, run_probe

from pulp_rds_tests.app import config
from pulp_rds_tests.app.database import release_django_alias, target_from_django

TASK_NAME_PREFIX = f"{__name__}."
_logger = logging.getLogger(__name__)


class TaskProgress(ProgressRecord):
    """The probe's ProgressSink: Pulp progress reports of the current task.

    The wording is rds_probes.ProgressRecord's; this only saves what changed, at most once
    a second (the probe's flush): it creates the reports that are new and updates the
    changed ones in one statement.
    """

    def __init__(self, task: Task, time_unit_seconds: float):
        super().__init__(time_unit_seconds)
        self._task = task
        self._saved: dict[str, ProgressReport] = {}  # code -> its row in the database

    def persist(self, changed: list[dict]) -> bool:
        # Progress is best effort: a hiccup of Pulp's own connection must not end the
        # measurement. Closing it lets Django reconnect; the next flush tries again.
        try:
            existing = []
            for report in changed:
                row = self._saved.get(report["code"])
                if row is None:
                    row = ProgressReport(task=self._task, **report)
                    row.save()
                    self._saved[report["code"]] = row
                else:
                    for name in self.FIELDS:
                        setattr(row, name, report[name])
                    existing.append(row)
            if existing:
                ProgressReport.objects.bulk_update(existing, self.FIELDS)
        except DatabaseError:
            _logger.warning("Could not save progress reports; the probe goes on.", exc_info=True)
            connection.close()
            return False
        return True


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
