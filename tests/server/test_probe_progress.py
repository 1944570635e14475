"""ProgressRecord: the progress reports a probe leaves, worded once for the plugin and the client."""

import sys
import threading

from rds_probes import ProgressRecord


def test_reports_read_like_a_pulp_tasks_progress_reports_in_the_order_they_began():
    record = ProgressRecord(time_unit_seconds=1)
    record.elapsed(0, 14)
    record.counter("rds.heartbeats", "Heartbeats answered", 3)
    record.elapsed(5, 14)
    record.disconnected("Connection closed after 5.2 s", 5_200, 14_000)
    assert record.snapshot() == [
        {
            "code": "rds.elapsed",
            "message": "Elapsed time units (1 s)",
            "state": "running",
            "done": 5,
            "total": 14,
        },
        {
            "code": "rds.heartbeats",
            "message": "Heartbeats answered",
            "state": "running",
            "done": 3,
            "total": None,
        },
        {
            "code": "rds.disconnect",
            "message": "Connection closed after 5.2 s",
            "state": "failed",
            "done": 5_200,
            "total": 14_000,
        },
    ]


def test_minutes_are_named_as_such_and_a_full_elapsed_report_is_completed():
    record = ProgressRecord()
    record.elapsed(50, 50)
    assert record.snapshot() == [
        {"code": "rds.elapsed", "message": "Elapsed minutes", "state": "completed",
         "done": 50, "total": 50}
    ]  # fmt: skip


def test_finish_completes_what_runs_and_leaves_a_disconnect_failed():
    record = ProgressRecord(time_unit_seconds=1)
    record.elapsed(3, 10)
    record.counter("rds.notifications.sent", "Notifications sent", 2)
    record.disconnected("gone", 3_000, 10_000)
    record.finish()
    states = {report["code"]: report["state"] for report in record.snapshot()}
    assert states == {
        "rds.elapsed": "completed",
        "rds.notifications.sent": "completed",
        "rds.disconnect": "failed",
    }


class FlakyStore(ProgressRecord):
    """Saves like the plugin's task would; `down` makes a save fail."""

    def __init__(self):
        super().__init__(time_unit_seconds=1)
        self.saved: list[list[tuple]] = []
        self.down = False

    def persist(self, changed: list[dict]) -> bool:
        if self.down:
            return False
        self.saved.append([(report["code"], report["done"]) for report in changed])
        return True


def test_flush_saves_only_what_changed_and_offers_a_failed_save_again():
    store = FlakyStore()
    store.elapsed(1, 10)
    store.counter("rds.heartbeats", "Heartbeats answered", 1)
    store.flush()
    store.flush()  # nothing changed: nothing saved
    store.counter("rds.heartbeats", "Heartbeats answered", 2)
    store.down = True
    store.flush()
    store.down = False
    store.elapsed(2, 10)
    store.flush()
    assert store.saved == [
        [("rds.elapsed", 1), ("rds.heartbeats", 1)],
        [("rds.elapsed", 2), ("rds.heartbeats", 2)],
    ]


def test_snapshots_are_copies_taken_safely_while_the_probe_reports():
    # Switch threads as often as possible: a copy racing new reports would fail here.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    record = ProgressRecord(time_unit_seconds=1)
    reported = threading.Event()

    def probe():
        for beat in range(20_000):
            record.counter(f"rds.counter.{beat}", "Counter", beat)
        reported.set()

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        while not reported.is_set():
            for report in record.snapshot():  # a dict changing size mid-copy raises here
                report["done"] = -1
    finally:
        thread.join()
        sys.setswitchinterval(previous)
    assert len(record.snapshot()) == 20_000
    assert all(report["done"] != -1 for report in record.snapshot())
