"""pulpcore's connections go straight to PostgreSQL; probe connections go through
PgBouncer, where the server cuts them after the lab's idle timeouts.

Cutoffs are measured on the servers' own clocks (the query's clock_timestamp() and the
FATAL line of PostgreSQL's log; PgBouncer's log lines), not on this process's, which a
loaded 2-core machine may not schedule for a second. Bounds: the timeout itself (a few
ms of timer slack before it) up to a second after it.
"""

from __future__ import annotations

import re
import runpy
import select
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.lab


def admin_console(lab: dict[str, Any]) -> psycopg.Connection:
    pgb = lab["pgbouncer"]
    # The admin console speaks only the simple query protocol: ClientCursor uses it.
    return psycopg.connect(
        host=pgb["host"],
        port=pgb["port"],
        user=pgb["admin_user"],
        password=pgb["admin_password"],
        dbname="pgbouncer",
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def probe_settings(lab: dict[str, Any]) -> dict[str, Any]:
    """The probes' database settings exactly as the lab wrote them for Pulp."""
    settings = runpy.run_path(lab["settings_file"])
    return {
        "pulp": settings["DATABASES"]["default"],
        "probe": settings["RDS_CONNECTION_TESTS_DATABASE"],
        "cutoff": settings["RDS_CONNECTION_TESTS_EXPECTED_CUTOFF_SECONDS"],
        "time_unit": settings["RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS"],
    }


def probe_connection(lab: dict[str, Any], **kwargs: Any) -> psycopg.Connection:
    probe = probe_settings(lab)["probe"]
    return psycopg.connect(
        host=probe["HOST"],
        port=probe["PORT"],
        user=probe["USER"],
        password=probe["PASSWORD"],
        dbname=lab["postgres"]["database"],
        **kwargs,
    )


def postgres_direct(lab: dict[str, Any], role: str) -> psycopg.Connection:
    """A connection straight to the lab's PostgreSQL as `superuser` or `pulp`."""
    pg = lab["postgres"]
    user_key = "superuser" if role == "superuser" else "pulp_user"
    return psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        user=pg[user_key],
        password=pg[f"{role}_password"],
        dbname=pg["database"],
    )


def show(console: psycopg.Connection, what: str) -> list[dict[str, Any]]:
    cursor = console.execute(f"SHOW {what}")
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# Before the timeout only by timer granularity; after it by what a loaded machine allows.
EARLY = 0.05
LATE = 1.0


def wait_until_server_closes(conn: psycopg.Connection, limit: float) -> None:
    """Watch the idle socket (sending nothing) until the server speaks or closes it."""
    readable, _, _ = select.select([conn.pgconn.socket], [], [], limit)
    assert readable, f"the connection was still open after {limit} s"


def last_query_at(conn: psycopg.Connection) -> tuple[int, datetime]:
    """The backend's pid and the server's clock at the end of this (last) query."""
    pid, at = conn.execute("SELECT pg_backend_pid(), clock_timestamp()").fetchone()
    return pid, at


def postgres_fatal_at(lab: dict[str, Any], pid: int, message: str) -> datetime:
    """When PostgreSQL logged `FATAL: <message>` for backend `pid` (its log is in UTC)."""
    pattern = re.compile(
        rf"^(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{3}}) UTC \[{pid}\] FATAL:  {message}"
    )
    deadline = time.monotonic() + 10
    while True:
        log = (Path(lab["dir"]) / "logs" / "postgres.log").read_text(errors="replace")
        for line in log.splitlines():
            if match := pattern.match(line):
                return datetime.fromisoformat(match[1] + "+00:00")
        assert time.monotonic() < deadline, f"no FATAL {message!r} for backend {pid} logged"
        time.sleep(0.1)


def pgbouncer_client_lines(lab: dict[str, Any], client_port: int) -> list[tuple[datetime, str]]:
    """PgBouncer's log lines about the client connected from `client_port` (its local time)."""
    stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \S+ (.*)$")
    lines = []
    log = (Path(lab["dir"]) / "logs" / "pgbouncer.log").read_text(errors="replace")
    for line in log.splitlines():
        if (match := stamp.match(line)) and f"@127.0.0.1:{client_port} " in match[2]:
            lines.append((datetime.fromisoformat(match[1]), match[2]))
    return lines


def within_bounds(elapsed: timedelta, timeout: float) -> bool:
    return timeout - EARLY <= elapsed.total_seconds() <= timeout + LATE


def test_settings_route_pulp_direct_and_probes_through_pgbouncer(lab):
    settings = probe_settings(lab)
    assert settings["pulp"]["PORT"] == lab["postgres"]["port"]
    assert settings["probe"]["PORT"] == lab["pgbouncer"]["port"]
    assert settings["cutoff"] == lab["idle_timeout"] == 3
    assert settings["time_unit"] == 1


def test_pulpcore_connects_directly_while_a_probe_shows_in_show_clients(lab):
    with postgres_direct(lab, role="superuser") as direct:
        pulp_backends = direct.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'pulp'"
        ).fetchone()[0]
    # Every online worker keeps its own connection open (it LISTENs for wake-ups).
    assert pulp_backends >= lab["workers"]

    with (
        admin_console(lab) as console,
        probe_connection(lab, application_name="routing-probe", autocommit=True) as probe,
    ):
        assert probe.execute("SELECT current_user").fetchone()[0] == "probe"
        clients = show(console, "CLIENTS")
        servers = show(console, "SERVERS")
    users = {client["user"] for client in clients}
    assert "pulp" not in users, "pulpcore's connections must not go through PgBouncer"
    probes = [c for c in clients if c["application_name"] == "routing-probe"]
    assert len(probes) == 1 and probes[0]["user"] == "probe"
    assert all(server["user"] != "pulp" for server in servers)


def test_idle_probe_connection_is_closed_by_the_server_after_idle_timeout(lab):
    with probe_connection(lab, autocommit=True) as conn:
        pid, idle_from = last_query_at(conn)
        wait_until_server_closes(conn, limit=lab["idle_timeout"] + 10)
        with pytest.raises(psycopg.Error) as died:
            conn.execute("SELECT 1")
    # PostgreSQL's idle-session timeout, forwarded by PgBouncer to the client.
    assert died.value.sqlstate == "57P05"
    closed_at = postgres_fatal_at(lab, pid, "terminating connection due to idle-session timeout")
    assert within_bounds(closed_at - idle_from, lab["idle_timeout"]), closed_at - idle_from


def test_idle_in_transaction_probe_connection_is_closed_after_its_timeout(lab):
    with probe_connection(lab) as conn:
        # Opens a transaction, then idles in it.
        pid, idle_from = last_query_at(conn)
        wait_until_server_closes(conn, limit=lab["idle_in_transaction_timeout"] + 10)
        with pytest.raises(psycopg.Error) as died:
            conn.execute("SELECT 1")
    assert died.value.sqlstate == "25P03"
    closed_at = postgres_fatal_at(
        lab, pid, "terminating connection due to idle-in-transaction timeout"
    )
    timeout = lab["idle_in_transaction_timeout"]
    assert within_bounds(closed_at - idle_from, timeout), closed_at - idle_from


def test_pulpcore_own_connections_have_no_idle_cutoff(lab):
    with postgres_direct(lab, role="pulp") as conn:
        assert conn.execute("SHOW idle_session_timeout").fetchone()[0] == "0"


def test_transaction_pool_mode_also_cuts_idle_clients_in_pgbouncer(lab_factory):
    lab = lab_factory(workers=1, idle_timeout=3, idle_in_transaction_timeout=2,
                      pool_mode="transaction")  # fmt: skip
    assert lab["pool_mode"] == "transaction" and lab["workers_online"] == 1
    with admin_console(lab) as console:
        config = {row["key"]: row["value"] for row in show(console, "CONFIG")}
    assert config["pool_mode"] == "transaction"
    assert config["client_idle_timeout"] == "3"
    # A client that never sent a query holds no server connection: only PgBouncer's
    # client_idle_timeout can cut it.
    with probe_connection(lab, autocommit=True, prepare_threshold=None) as conn:
        with socket.socket(fileno=conn.pgconn.socket) as sock:
            client_port = sock.getsockname()[1]
            sock.detach()  # the connection's own socket: do not close it here
        wait_until_server_closes(conn, limit=13)
    # PgBouncer's own record: from the login to the close, on its clock. It checks its
    # timeouts on a 1/3-second timer.
    events = pgbouncer_client_lines(lab, client_port)
    logged_in = next(at for at, text in events if "login attempt" in text)
    closed = next(at for at, text in events if "closing because: client_idle_timeout" in text)
    assert within_bounds(closed - logged_in, lab["idle_timeout"]), closed - logged_in
