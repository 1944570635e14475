"""The probe engine on its own (no Pulp): target settings, the timeline, failures, secrets."""

from __future__ import annotations

import json
import math
import socket
import time

import psycopg
import pytest
from pulp_rds_tests.app.database import merge_database_settings
from rds_probes import ProbeConfigError, ProbeOptions, ProbeTarget, run_probe
from rds_probes.progress import NullProgress, ProgressThrottle
from rds_probes.stats import LATENCY_SAMPLE, MAX_PIDS_LISTED, BackendPids, LatencyStats
from rds_probes.timeline import (
    HEAD,
    MAX_DETAIL_BYTES,
    MAX_TIMELINE_BYTES,
    TAIL,
    Timeline,
)

DEFAULT = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "pulp",
    "USER": "pulp",
    "PASSWORD": "pulp-secret",
    "HOST": "db.internal",
    "PORT": 5432,
    "OPTIONS": {"sslmode": "require", "pool": {"min_size": 2}},
    "CONN_MAX_AGE": 600,
}


def test_overrides_merge_over_the_default_database():
    merged = merge_database_settings(
        DEFAULT, {"host": "pgbouncer", "PORT": 6432, "OPTIONS": {"connect_timeout": 3}}
    )
    assert merged["HOST"] == "pgbouncer" and merged["PORT"] == 6432
    assert merged["NAME"] == "pulp" and merged["USER"] == "pulp"
    # OPTIONS merge key by key; a probe never uses a pool and never keeps connections.
    assert merged["OPTIONS"] == {"sslmode": "require", "connect_timeout": 3}
    assert merged["CONN_MAX_AGE"] == 0
    assert DEFAULT["OPTIONS"]["pool"] == {"min_size": 2}  # the original is untouched


def test_no_overrides_means_the_same_target_as_pulp():
    merged = merge_database_settings(DEFAULT, None)
    assert (merged["HOST"], merged["PORT"], merged["USER"]) == ("db.internal", 5432, "pulp")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"HOSTNAME": "x"}, "unknown key 'HOSTNAME'"),
        ({"OPTIONS": "sslmode=require"}, "['OPTIONS'] must be a mapping"),
        ("host=pgbouncer", "must be a mapping"),
    ],
)
def test_bad_overrides_are_explained(overrides, words):
    with pytest.raises(ProbeConfigError) as error:
        merge_database_settings(DEFAULT, overrides)
    assert words in str(error.value)
    assert "HOST, PORT" in str(error.value) or "OPTIONS" in str(error.value)


def test_a_target_never_shows_its_password():
    target = ProbeTarget(
        {"host": "h", "port": "6432", "dbname": "d", "user": "u", "password": "hunter2"}
    )
    assert target.describe() == {"host": "h", "port": 6432, "dbname": "d", "user": "u"}
    assert "hunter2" not in repr(target)
    assert target.params["prepare_threshold"] is None  # PgBouncer transaction mode


def test_the_timeline_keeps_its_head_and_tail_and_counts_the_rest():
    timeline = Timeline(time.monotonic(), head=3, tail=4)
    for index in range(20):
        timeline.add("heartbeat", f"#{index}")
    events = timeline.as_list()
    assert [e.get("detail") for e in events if e["event"] == "heartbeat"] == [
        "#0",
        "#1",
        "#2",
        "#16",
        "#17",
        "#18",
        "#19",
    ]
    assert events[3] == {"t": events[4]["t"], "event": "events-dropped", "count": 13}
    assert timeline.dropped == 13


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_target_gives_a_failed_result_not_an_exception():
    port = _closed_port()
    target = ProbeTarget(
        {
            "host": "127.0.0.1",
            "port": port,
            "dbname": "pulp",
            "user": "probe",
            "password": "hunter2",
            "connect_timeout": 2,
        }
    )
    options = ProbeOptions(
        test_name="test_6_listen_notify",
        task_id="00000000-0000-0000-0000-000000000001",
        duration_minutes=5,
        time_unit_seconds=1,
    )
    started = time.monotonic()
    result = run_probe(options, target)
    assert time.monotonic() - started < 3
    assert result["success"] is False and result["status"] == "FAILED"
    assert result["abandoned"] is None
    assert result["connection_alive"] is False and result["disconnected"] is False
    assert result["error"]["type"] == "OperationalError"
    assert result["error"]["stage"] == "connect"
    assert str(port) in result["error"]["message"]
    assert result["target"]["port"] == port
    assert "hunter2" not in json.dumps(result)


def test_a_password_echoed_by_an_error_is_masked():
    def opener(**params):
        raise psycopg.OperationalError(f"cannot connect with password={params['password']}")

    target = ProbeTarget(
        {"host": "h", "dbname": "d", "user": "u", "password": "hunter2"}, opener=opener
    )
    options = ProbeOptions(
        test_name="test_1_idle_connection",
        task_id="00000000-0000-0000-0000-000000000002",
        duration_minutes=1,
        time_unit_seconds=1,
    )
    result = run_probe(options, target)
    assert result["error"]["message"] == "cannot connect with password=***"
    assert "hunter2" not in json.dumps(result)


def test_event_texts_are_bounded_so_the_whole_timeline_is():
    # Any role may NOTIFY a probe's channel with an 8000-byte payload, as often as it likes.
    timeline = Timeline(time.monotonic())
    payload = "\u00e9\x1b[31m" * 2000  # escapes make JSON longer than the text
    for _ in range(5000):
        timeline.add("notification", f"channel c payload {payload!r}", latency_ms=None)
    events = timeline.as_list()
    assert len(events) == HEAD + TAIL + 1
    assert len(json.dumps(events)) <= MAX_TIMELINE_BYTES
    detail = events[0]["detail"]
    assert len(json.dumps(detail)) <= MAX_DETAIL_BYTES
    assert detail.startswith("channel c payload '") and detail.endswith(" characters)")


def test_latency_statistics_are_running_aggregates():
    stats = LatencyStats()
    assert stats.summary() is None
    for value in range(1, 102):  # exact while the sample holds them all
        stats.add(float(value))
    assert stats.summary() == {"median": 51.0, "max": 101.0, "mean": 51.0, "count": 101}
    for _ in range(100_000):
        stats.add(5.0)
    summary = stats.summary()
    assert summary["count"] == 100_101 and summary["max"] == 101.0 and summary["median"] == 5.0
    assert len(stats._sample) == LATENCY_SAMPLE  # bounded, however long the run


def test_backend_pids_are_listed_in_order_and_bounded():
    pids = BackendPids()
    assert pids.first is None and pids.pinned is None
    pids.add(7)
    assert pids.pinned is None  # one observation proves nothing
    pids.add(7)
    assert pids.pinned is True
    for pid in range(1000, 3000):  # a proxy that multiplexes: a new backend each beat
        pids.add(pid)
    assert pids.first == 7 and pids.pinned is False
    assert pids.distinct[:3] == [7, 1000, 1001] and len(pids.distinct) == MAX_PIDS_LISTED


class CountingSink(NullProgress):
    def __init__(self):
        self.flushes: list[float] = []
        self.values: dict[str, int] = {}

    def counter(self, code, message, value):
        self.values[code] = value

    def flush(self):
        self.flushes.append(time.monotonic())


def test_progress_is_saved_at_most_once_per_interval_and_at_once_when_it_matters():
    sink = CountingSink()
    throttle = ProgressThrottle(sink, interval=0.2)
    assert throttle.due() == math.inf  # nothing to save
    started = time.monotonic()
    beats = 0
    while time.monotonic() - started < 1.0:  # a heartbeat every 10 ms
        beats += 1
        throttle.counter("rds.heartbeats", "Heartbeats answered", beats)
        throttle.save()
        time.sleep(0.01)
    assert 2 <= len(sink.flushes) <= 6, sink.flushes  # 1 s / 0.2 s, and the first at once
    gaps = [b - a for a, b in zip(sink.flushes, sink.flushes[1:])]
    assert min(gaps) >= 0.2
    # A change waits for its turn, but says when that is; the disconnect never waits.
    throttle.counter("rds.heartbeats", "Heartbeats answered", beats + 1)
    assert throttle.due() <= sink.flushes[-1] + 0.2
    saved = len(sink.flushes)
    throttle.disconnected("closed", 1000, 8000)
    assert len(sink.flushes) == saved + 1
    assert sink.values["rds.heartbeats"] == beats + 1
    assert throttle.due() == math.inf
