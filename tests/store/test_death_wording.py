"""Who ended a dead connection, in words, the same everywhere a death is shown: the
TEST SUMMARY, the diagnosis, the dashboard's reason line and Detail screen.

Results as the lab measured them (shared notes, proxy-behaviour.md): behind pgpool-II
(`client_idle_limit` 6) every cut is a bare close, 7.0 s after the last query, no
SQLSTATE; with PostgreSQL's own timeouts the server sends 57P05 or 25P03; PgBouncer's
own client_idle_timeout sends 08P01.
"""

from __future__ import annotations

from rds_tui.outcome import read_outcome
from rds_tui.report import diagnose, summary_lines
from rds_tui.screens.detail import error_text
from store.test_report_diagnosis import (
    IDLE_MSG,
    NAMES,
    probe_result,
    session_mode_matrix,
    task,
)

PROXY_CLOSE = "the proxy closed the client connection without an error (no SQLSTATE)"
SERVER_IDLE = "the database server terminated the session (57P05 idle-session timeout)"
SERVER_TX = "the database server terminated the session (25P03 idle-in-transaction timeout)"
CLIENT_MSG = "consuming input failed: server closed the connection unexpectedly"


def bare_close(number: int, died_after: float = 7.0, **extra) -> dict:
    """A probe cut by pgpool-II: the client only saw the socket close."""
    result = probe_result(number, died_after=died_after, expected_cutoff_seconds=6, **extra)
    result.update(
        client_message=CLIENT_MSG,
        error={"type": "OperationalError", "message": CLIENT_MSG},
        server_settings={"idle_session_timeout": "0", "idle_in_transaction_session_timeout": "0"},
    )
    return result


def pgpool_matrix() -> list[dict]:
    """All seven behind pgpool-II: 1, 3, 5, 6 cut at 7.0 s; 2, 4 and 7 alive."""
    received = {"notifications_sent": 6, "notifications_received": 6}
    return [
        task(1, bare_close(1)),
        task(2, probe_result(2, died_after=None, heartbeats_ok=6, pinning_observed=True)),
        task(3, bare_close(3, 7.02)),
        task(4, probe_result(4, died_after=None, pinning_observed=True)),
        task(5, bare_close(5, 7.01)),
        task(6, bare_close(6, 7.03)),
        task(7, probe_result(7, died_after=None, **received)),
    ]


def summary_of(tasks: list[dict], number: int) -> str:
    """The TEST SUMMARY lines of one test (from its bullet to the next)."""
    lines = summary_lines(tasks)
    start = next(i for i, line in enumerate(lines) if line.endswith(f"• {NAMES[number]}"))
    end = next((i for i in range(start + 1, len(lines)) if "•" in lines[i]), len(lines))
    return "\n".join(lines[start:end])


def test_summary_says_the_proxy_closed_a_bare_close():
    tasks = pgpool_matrix()
    for number in (1, 3, 5, 6):
        text = summary_of(tasks, number)
        assert f"Cause: {PROXY_CLOSE}" in text
        assert "Server said" not in text  # nothing came from the server
    assert "Cause:" not in summary_of(tasks, 2)  # a survivor has no cause


def test_summary_says_the_database_server_ended_the_session():
    tasks = session_mode_matrix()
    assert f"Cause: {SERVER_IDLE}" in summary_of(tasks, 1)
    assert f"Cause: {SERVER_TX}" in summary_of(tasks, 3)
    assert PROXY_CLOSE not in "\n".join(summary_lines(tasks))


def finding(diagnosis, title_start: str):
    return next(f for f in diagnosis.findings if f.title.startswith(title_start))


def test_diagnosis_of_bare_closes_names_the_proxy_and_its_timer_granularity():
    diagnosis = diagnose(pgpool_matrix())
    idle = finding(diagnosis, "Idle connections are cut")
    assert diagnosis.estimated_idle_cutoff_seconds == 7.01
    assert f"Every cut: {PROXY_CLOSE}" in idle.detail
    # The measured 7 s depends on how often the proxy looks: say so.
    assert "pgpool-II checks about once a second" in idle.detail
    assert "between the limit and the limit + 1 s" in idle.detail
    assert "matches the expected cutoff of 6.00 s plus one check of the proxy's" in idle.detail
    transaction = finding(diagnosis, "An idle open transaction is cut")
    assert PROXY_CLOSE in transaction.detail
    assert "database server" not in "\n".join(diagnosis.lines())


def test_diagnosis_of_postgres_timeouts_names_the_server_and_its_exact_timers():
    diagnosis = diagnose(session_mode_matrix())
    idle = finding(diagnosis, "Idle connections are cut")
    assert f"Every cut: {SERVER_IDLE}" in idle.detail
    assert "PostgreSQL's own timers are exact to milliseconds" in idle.detail
    transaction = finding(diagnosis, "An idle open transaction is cut")
    assert SERVER_TX in transaction.detail
    assert PROXY_CLOSE not in "\n".join(diagnosis.lines())


def test_diagnosis_of_mixed_cuts_says_which_test_was_cut_how():
    tasks = session_mode_matrix()
    tasks[0] = task(1, bare_close(1, 5.04))
    idle = finding(diagnose(tasks), "Idle connections are cut")
    assert "Not all were cut the same way" in idle.detail
    assert f"test 1: {PROXY_CLOSE}" in idle.detail
    assert f"test 5, test 6: {SERVER_IDLE}" in idle.detail


def test_pgbouncer_own_cut_is_not_blamed_on_the_database():
    message = "client_idle_timeout"
    tasks = [task(n, probe_result(n, died_after=5.05, sqlstate="08P01", message=message))
             for n in (1, 5, 6)]  # fmt: skip
    idle = finding(diagnose(tasks), "Idle connections are cut")
    assert "the server side ended the session with an error (08P01 protocol violation)" in (
        idle.detail
    )
    assert "PgBouncer checks its timeouts on a 1/3-second timer" in idle.detail
    assert "database server terminated" not in idle.detail


def test_dashboard_words_come_from_the_same_place():
    dead = task(1, bare_close(1))
    assert read_outcome(dead).cause_text() == PROXY_CLOSE
    assert PROXY_CLOSE in error_text(dead).plain
    server = task(1, probe_result(1, died_after=5.04, sqlstate="57P05", message=IDLE_MSG))
    assert read_outcome(server).cause_text() == SERVER_IDLE
    assert SERVER_IDLE in error_text(server).plain
    # A SQLSTATE without a name here keeps the server's own words.
    other = task(1, probe_result(1, died_after=5.0, sqlstate="XX000", message="boom"))
    assert read_outcome(other).cause_text() == (
        'the database server terminated the session (SQLSTATE XX000): "boom"'
    )
    # The original endpoint's results do not say who closed the connection.
    original = {"test": "Test 1", "connection_alive": False, "error": "gone"}
    assert read_outcome(original).closed_by_text() is None
