"""The fix verdict (rds_tui.report.fixes) and what the diagnosis makes of it: a fix pattern
(test 8: LISTEN + heartbeat, test 9: TCP keepalives) against the control, test 6."""

from __future__ import annotations

import pytest

from rds_tui.report import diagnose, fixes

CONTROL = "test_6_listen_notify"
HEARTBEAT = "test_8_listen_with_heartbeat"
KEEPALIVE = "test_9_tcp_keepalive"
IDLE_MSG = "terminating connection due to idle-session timeout"
SOCKET_ON = {"so_keepalive": True, "tcp_keepidle": 20, "tcp_keepintvl": 20, "tcp_keepcnt": 3}
PLANNED = 3000.0  # a 50-minute verify run against a 40-minute cutoff


def result(name: str, died_after: float | None, **extra) -> dict:
    died = died_after is not None
    return {
        "test_name": name,
        "connection_alive": not died,
        "status": "FAILED" if died else "PASSED",
        "planned_duration_seconds": PLANNED,
        "actual_duration_seconds": died_after if died else PLANNED,
        "expected_cutoff_seconds": 2400,
        "disconnected": died,
        "seconds_to_disconnect": died_after,
        "idle_seconds_before_disconnect": died_after,
        "detected_by": "passive-watch" if died else None,
        "server_message": IDLE_MSG if died else None,
        "sqlstate": "57P05" if died else None,
        "passive_alive_at_deadline": None if died else True,
        "final_check": None if died else {"ok": True, "seconds": 0.01, "backend_pid": 7},
        **extra,
    }


def task(name: str, res: dict | None, state: str = "completed") -> dict:
    return {
        "pulp_href": f"/pulp/api/v3/tasks/{name}/",
        "state": state,
        "test_name": name,
        "started_at": "2026-11-30T09:00:00Z",
        "finished_at": "2026-11-30T09:50:00Z" if state != "running" else None,
        "error": None,
        "result": res,
    }


def heartbeat(died_after: float | None, interval: float = 20.0) -> dict:
    return task(
        HEARTBEAT,
        result(HEARTBEAT, died_after, heartbeat_interval_seconds=interval, heartbeats_ok=150),
    )


def keepalive(died_after: float | None, socket: dict | None = SOCKET_ON) -> dict:
    return task(
        KEEPALIVE,
        result(
            KEEPALIVE,
            died_after,
            keepalive_interval_seconds=20,
            tcp_keepalive={"requested": {"keepalives": 1}, "socket": socket},
        ),
    )


def control(died_after: float | None = 2400.5) -> dict:
    return task(CONTROL, result(CONTROL, died_after))


def only(tasks: list[dict]) -> fixes.FixVerdict:
    [verdict] = fixes.judge_tasks(tasks)
    return verdict


def test_control_dies_and_heartbeat_lives_holds():
    verdict = only([control(), heartbeat(None)])
    assert verdict.verdict == fixes.HOLDS and verdict.holds is True
    assert verdict.interval_seconds == 20
    assert verdict.control_died_after_seconds == pytest.approx(2400.5)
    assert verdict.headline().startswith("The fix holds: A client heartbeat")
    assert "WORKER_TTL = 60" in "\n".join(verdict.settings_snippet())


def test_both_die_does_not_hold_and_no_settings_are_offered():
    verdict = only([control(), keepalive(2401.0)])
    assert verdict.verdict == fixes.DOES_NOT_HOLD and verdict.holds is False
    assert verdict.socket_keepalive == SOCKET_ON
    assert verdict.settings_snippet() == []


def test_a_heartbeat_as_long_as_the_cutoff_is_told_to_be_shorter():
    verdict = only([control(), heartbeat(2401.0, interval=2400.0)])
    assert verdict.verdict == fixes.DOES_NOT_HOLD
    assert "try a shorter one" in verdict.reason


def test_control_lives_is_inconclusive_too_short_or_no_cutoff():
    verdict = only([control(None), heartbeat(None)])
    assert verdict.verdict == fixes.INCONCLUSIVE and verdict.holds is None
    assert "Run longer than the cutoff" in verdict.reason


@pytest.mark.parametrize(
    ("tasks", "words"),
    [
        ([heartbeat(None)], "The run has no test_6_listen_notify (the control)"),
        ([task(CONTROL, None, state="running"), heartbeat(None)], "still running"),
        ([control(), task(HEARTBEAT, None, state="failed")], "produced no result (task failed)"),
        ([control(), task(HEARTBEAT, None, state="canceled")], "run the verification again"),
    ],
)
def test_missing_or_unfinished_tasks_are_inconclusive(tasks, words):
    verdict = only(tasks)
    assert verdict.verdict == fixes.INCONCLUSIVE
    assert words in verdict.reason


def test_keepalives_not_on_the_socket_are_inconclusive_whatever_happened():
    for socket in (None, {"error": "not a TCP socket"}, {**SOCKET_ON, "so_keepalive": False}):
        verdict = only([control(), keepalive(2401.0, socket=socket)])
        assert verdict.verdict == fixes.INCONCLUSIVE
        assert "no TCP keepalives" in verdict.reason


def test_a_fix_that_lived_less_long_than_the_control_is_inconclusive():
    short = heartbeat(None)
    short["result"]["actual_duration_seconds"] = 100.0
    short["result"]["planned_duration_seconds"] = 100.0
    verdict = only([control(), short])
    assert verdict.verdict == fixes.INCONCLUSIVE
    assert "less than the control lived" in verdict.reason


def test_no_fix_pattern_no_verdict():
    assert fixes.judge_tasks([control()]) == []


def test_verify_runs_past_the_cutoff_with_a_margin():
    # Production: 40 min + 25% = 50 min, the guide's duration.
    assert fixes.verify_duration_minutes(2400, 60) == 50
    # The lab: 3 s + at least two time units.
    assert fixes.verify_duration_minutes(3, 1) == 5
    assert fixes.verify_duration_minutes(10**6, 60) == 300  # the server's maximum
    assert fixes.verify_tests(fixes.KEEPALIVE) == [CONTROL, KEEPALIVE]


def test_keepalive_settings_are_djangos_options_and_pulps_environment():
    lines = fixes.settings_snippet(fixes.KEEPALIVE, 20)
    assert '"keepalives": 1, "keepalives_idle": 20, "keepalives_interval": 20,' in lines
    assert "PULP_DATABASES__default__OPTIONS__keepalives_idle=20" in lines
    assert "PULP_DATABASES__default__OPTIONS__keepalives_count=3" in lines


def test_the_diagnosis_says_what_the_fixes_showed_and_prints_the_settings():
    diagnosis = diagnose([control(), heartbeat(None), keepalive(2400.7)])
    kinds = {v.kind: v.verdict for v in diagnosis.fix_verdicts}
    assert kinds == {fixes.HEARTBEAT: fixes.HOLDS, fixes.KEEPALIVE: fixes.DOES_NOT_HOLD}
    text = diagnosis.recommendation
    assert "A client heartbeat (SELECT 1) every 20.00 s on a LISTEN connection kept it alive" in (
        text
    )
    assert "TCP keepalives every 20.00 s on an idle connection did not count as activity" in text
    assert "rds-tui verify" not in text  # both settled
    lines = diagnosis.lines()
    assert (
        "PULP SETTINGS" in lines
        and "  PULP_WORKER_TTL=60    # or the environment of every pulpcore-worker" in lines
    )
    titles = [f.title for f in diagnosis.findings]
    assert "Fix (client heartbeat): holds" in titles
    assert "Fix (TCP keepalives): does not hold" in titles


def test_without_fix_results_the_diagnosis_names_the_runs_that_settle_it():
    diagnosis = diagnose([control()], profile="prod")
    text = diagnosis.recommendation
    assert "rds-tui verify --profile prod --heartbeat 1200" in text
    assert "rds-tui verify --profile prod --keepalive 1200" in text
    assert diagnosis.pulp_settings == []


def test_an_inconclusive_fix_run_is_named_with_the_run_to_repeat():
    diagnosis = diagnose([control(None), heartbeat(None)])
    assert [v.verdict for v in diagnosis.fix_verdicts] == [fixes.INCONCLUSIVE]
    assert "The heartbeat check was inconclusive" in diagnosis.recommendation
    assert "rds-tui verify --heartbeat 20" in diagnosis.recommendation
