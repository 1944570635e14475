"""A proxy that closes idle clients without a word, as RDS Proxy does, seen by the probes.

The probe engine runs in this process against the lab's PgBouncer through IdleCutter,
which cuts a client after 1.5 s without a byte from it (before PostgreSQL's own 3 s
idle_session_timeout on the probe role could).
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime

import pytest
from rds_probes import ProbeOptions, ProbeTarget, run_probe

from .idlecutter import IdleCutter

pytestmark = pytest.mark.lab

CUT_AFTER = 1.5
# From the proxy's cut (its own clock reading, just before it closes) to the probe's
# passive detection: milliseconds when idle (bench/probe_detection_latency.py), bounded
# by what a loaded 2-core machine keeps.
DETECTION = 1.5


@pytest.fixture
def cutter(lab):
    pgbouncer = lab["pgbouncer"]
    with IdleCutter((pgbouncer["host"], pgbouncer["port"]), idle=CUT_AFTER) as proxy:
        yield proxy


def probe_through(
    cutter: IdleCutter, lab: dict, test_name: str, duration_minutes: int = 6, **options
) -> dict:
    target = ProbeTarget(
        {
            "host": "127.0.0.1",
            "port": cutter.port,
            "dbname": lab["pgbouncer"]["database"],
            "user": lab["probe"]["user"],
            "password": lab["probe"]["password"],
        }
    )
    probe = ProbeOptions(
        test_name=test_name,
        task_id=str(uuid.uuid4()),
        duration_minutes=duration_minutes,
        time_unit_seconds=1,
        **options,
    )
    return run_probe(probe, target)


def test_a_silent_close_is_detected_passively_within_milliseconds(cutter, lab):
    result = probe_through(cutter, lab, "test_1_idle_connection")
    assert result["disconnected"] is True and result["detected_by"] == "passive-watch"
    # No FATAL from a proxy that just closes: only the client library's words.
    assert result["sqlstate"] is None and result["server_message"] is None
    assert "server closed the connection unexpectedly" in result["client_message"]
    assert CUT_AFTER <= result["idle_seconds_before_disconnect"] <= CUT_AFTER + 1
    [cut] = cutter.cuts
    detected = datetime.fromisoformat(result["disconnected_at"]).timestamp()
    assert 0 <= detected - cut < DETECTION


def test_notifications_from_the_server_do_not_keep_a_client_alive(cutter, lab):
    result = probe_through(cutter, lab, "test_7_listen_with_activity", notify_interval_seconds=0.4)
    assert result["disconnected"] is True and result["detected_by"] == "passive-watch"
    assert CUT_AFTER <= result["idle_seconds_before_disconnect"] <= CUT_AFTER + 1
    # Notifications kept arriving until the cut; the sender, which talks, was not cut.
    assert result["notifications_received"] >= 2
    assert result["notify_sender_error"] is None
    assert len(cutter.cuts) == 1


def test_a_connection_that_goes_silent_is_declared_lost_after_the_answer_timeout(lab):
    # A partition: no FIN, no RST. The passive watch cannot see it; the next heartbeat
    # gets no answer, and the watchdog ends the wait instead of TCP's ~15 minutes.
    pgbouncer = lab["pgbouncer"]
    with IdleCutter((pgbouncer["host"], pgbouncer["port"]), idle=60) as partition:
        timer = threading.Timer(1.2, partition.freeze)
        timer.start()
        result = probe_through(
            partition,
            lab,
            "test_2_active_heartbeat",
            heartbeat_interval_seconds=0.5,
            answer_timeout_seconds=1.5,
        )
        timer.cancel()
    assert result["disconnected"] is True and result["detected_by"] == "heartbeat"
    assert result["client_message"] == (
        "no answer within 1.5 s: the connection went silent, the probe closed it"
    )
    assert result["sqlstate"] is None and result["server_message"] is None
    assert result["heartbeats_ok"] >= 1
    # Frozen at 1.2 s, the next beat by 1.5 s, declared lost 1.5 s later: about 3 s, not
    # the ~15 minutes TCP would take (a busy machine may add a little).
    assert 2.5 <= result["seconds_to_disconnect"] <= 3 + DETECTION


def test_a_silent_partition_ends_at_the_final_check_and_frees_a_stuck_sender(lab):
    pgbouncer = lab["pgbouncer"]
    with IdleCutter((pgbouncer["host"], pgbouncer["port"]), idle=60) as partition:
        timer = threading.Timer(1.0, partition.freeze)
        timer.start()
        started = time.monotonic()
        result = probe_through(
            partition,
            lab,
            "test_7_listen_with_activity",
            duration_minutes=3,
            notify_interval_seconds=0.3,
            answer_timeout_seconds=1,
        )
        took = time.monotonic() - started
        timer.cancel()
    # Idle LISTEN sends nothing, so only the final check at the deadline finds the silence.
    assert result["detected_by"] == "final-check"
    assert result["final_check"]["ok"] is False
    assert result["client_message"].startswith("no answer within 1 s")
    assert result["notifications_received"] >= 1
    # Deadline 3 s + answer timeout 1 s + at most ~2 s to free the sender stuck in NOTIFY,
    # plus a busy machine's allowance.
    assert took < 6 + DETECTION
