"""An admin client of a lab's Pulp with the task helpers the plugin's tests need."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg
import pytest

from rds_tui.catalog import FIX_TEST_NAMES, TEST_NAMES

ENDPOINT = "/api/pulp/rds-connection-tests/"
TASKS = "/pulp/api/v3/tasks/"
TASK_NAME_PREFIX = "pulp_rds_tests.app.tasks."
FINAL_STATES = {"completed", "failed", "canceled", "skipped"}
# A lab with the production time unit (60 s) and long timeouts: nothing dies by itself
# during a test, and responses read exactly as the guide shows them.
PRODUCTION_SCALE_LAB = {
    "workers": 8,
    "extra_settings": {"RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS": 60},
}
# Shared with tests/lab/ (same options: the same lab).
TRANSACTION_MODE_LAB = {
    "workers": 1,
    "idle_timeout": 3,
    "idle_in_transaction_timeout": 2,
    "pool_mode": "transaction",
}
# The guide's seven tests, in its order (the client's catalog transcribes the guide).
ALL_TESTS = list(TEST_NAMES)
# The fix patterns (tests 8, 9): accepted by name, listed apart from the seven.
FIX_TESTS = list(FIX_TEST_NAMES)


class Pulp:
    """An admin client of one lab, with the few task helpers these tests need."""

    def __init__(self, lab: dict[str, Any]):
        self.lab = lab
        domains = lab.get("domains") or lab["options"]["extra_settings"].get("DOMAIN_ENABLED")
        self.tasks_url = "/pulp/default/api/v3/tasks/" if domains else TASKS
        self.http = httpx.Client(
            base_url=lab["api_root"], auth=(lab["username"], lab["password"]), timeout=30
        )

    def dispatch(self, tests: list[str], **options: Any) -> list[dict]:
        response = self.http.post(ENDPOINT, json={"tests": tests, **options})
        assert response.status_code == 202, response.text
        return response.json()["tasks"]

    def tasks(self, task_ids: list[str]) -> dict[str, dict]:
        """The tasks by id, in one request."""
        response = self.http.get(
            self.tasks_url, params={"pulp_id__in": ",".join(task_ids), "limit": 100}
        )
        response.raise_for_status()
        return {
            task["pulp_href"].rstrip("/").rsplit("/", 1)[1]: task
            for task in response.json()["results"]
        }

    def wait(self, dispatched: list[dict], timeout: float = 60, states=FINAL_STATES) -> dict:
        """Poll until every dispatched task is in one of `states`; the tasks by test name."""
        ids = [entry["task_id"] for entry in dispatched]
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.tasks(ids)
            if len(tasks) == len(ids) and all(t["state"] in states for t in tasks.values()):
                return {entry["test_name"]: tasks[entry["task_id"]] for entry in dispatched}
            if time.monotonic() > deadline:
                pytest.fail(
                    f"tasks not {sorted(states)} after {timeout} s: "
                    f"{[(t['name'], t['state']) for t in tasks.values()]}"
                )
            time.sleep(0.2)

    def active_rds_tasks(self) -> list[dict]:
        response = self.http.get(
            self.tasks_url,
            params={
                "name__contains": TASK_NAME_PREFIX,
                "state__in": "waiting,running,canceling",
                "limit": 100,
            },
        )
        response.raise_for_status()
        return response.json()["results"]

    def cancel_all(self) -> None:
        for task in self.active_rds_tasks():
            if task["state"] != "canceling":
                self.http.patch(task["pulp_href"], json={"state": "canceled"})
        deadline = time.monotonic() + 20
        while self.active_rds_tasks() and time.monotonic() < deadline:
            time.sleep(0.2)

    def postgres(self) -> psycopg.Connection:
        """A superuser connection straight to the lab's PostgreSQL (not through PgBouncer)."""
        pg = self.lab["postgres"]
        return self._connect(
            pg["host"], pg["port"], pg["superuser"], pg["superuser_password"], "postgres"
        )

    def _connect(
        self, host: str, port: int, user: str, password: str, dbname: str
    ) -> psycopg.Connection:
        return psycopg.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def probe_backends(self) -> list[tuple]:
        """Server backends (PostgreSQL) that carry a probe's application_name."""
        with self.postgres() as conn:
            return conn.execute(
                "SELECT pid, application_name, state FROM pg_stat_activity"
                " WHERE application_name LIKE 'rds-probe:%'"
            ).fetchall()

    def probe_clients(self) -> list[dict]:
        """PgBouncer's client connections that carry a probe's application_name."""
        pgb = self.lab["pgbouncer"]
        with self._connect(
            pgb["host"], pgb["port"], pgb["admin_user"], pgb["admin_password"], "pgbouncer"
        ) as conn:
            cursor = conn.cursor()
            # The admin console speaks the simple query protocol only.
            cursor.execute("SHOW CLIENTS", prepare=False)
            names = [column.name for column in cursor.description]
            rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        return [
            row for row in rows if str(row.get("application_name", "")).startswith("rds-probe:")
        ]

    def close(self) -> None:
        self.http.close()
