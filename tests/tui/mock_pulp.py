"""An in-process Pulp for dashboard tests, served through httpx.MockTransport.

The test decides every task's state (no timing involved), which keeps pilot tests and
SVG snapshots deterministic. It also plays the servers the dashboard must explain:
wrong password (401), plugin missing (404), tests disabled (403), server gone
(connection refused). End-to-end flows use the real lab instead.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from rds_probes.catalog import CATALOG, FIX_TEST_NAMES, TEST_NAMES

from rds_tui.api import PulpClient

TESTS_PATH = "/api/pulp/rds-connection-tests/"
TASKS_PATH = "/pulp/api/v3/tasks/"
LOGIN_PATH = "/pulp/api/v3/login/"


def plugin_catalog(
    cutoff: float = 2400.0,
    unit: float = 60.0,
    enabled: bool = True,
    in_transaction_cutoff: float | None = None,
) -> dict:
    """The plugin's GET answer, built from the plugin's own catalog (the guide's fields
    plus the plugin's additions); tests/client/test_fakes_match_the_plugin.py compares it
    with a real server's."""
    return {
        "available_tests": list(TEST_NAMES),
        "fix_tests": list(FIX_TEST_NAMES),
        "descriptions": {spec.name: spec.description for spec in CATALOG if not spec.fix_pattern},
        "usage": {
            "endpoint": TESTS_PATH,
            "method": "POST",
            "body": {
                "tests": ["test_1_idle_connection", "test_2_active_heartbeat"],
                "run_sequentially": False,
            },
        },
        "tests": [
            {
                "name": spec.name,
                "number": spec.number,
                "title": spec.title,
                "description": spec.description,
                "tells_you": spec.tells_you,
                "expected_outcome": spec.expected_outcome,
                "proxy_pins": spec.proxy_pins,
                "fix_pattern": spec.fix_pattern,
            }
            for spec in CATALOG
        ],
        **cutoffs(cutoff, in_transaction_cutoff),
        "time_unit_seconds": unit,
        "min_interval_seconds": max(0.1, unit / 60),  # the plugin's floor for that unit
        "enabled": enabled,
        "max_active": 7,
        "plugin_version": "0.1.0",
    }


def cutoffs(cutoff: float, in_transaction_cutoff: float | None) -> dict:
    """The cutoffs the plugin resolves (in a transaction: the idle one unless set)."""
    return {
        "expected_cutoff_seconds": cutoff,
        "expected_in_transaction_cutoff_seconds": (
            cutoff if in_transaction_cutoff is None else in_transaction_cutoff
        ),
    }


def dead_result(
    test_name: str,
    seconds: float,
    message: str,
    sqlstate: str = "57P05",
    planned: float = 3000.0,
    cutoff: float = 2400.0,
) -> dict:
    return {
        "test": test_name,
        "test_name": test_name,
        "connection_alive": False,
        "disconnected": True,
        "seconds_to_disconnect": seconds,
        "idle_seconds_before_disconnect": seconds - 0.2,
        "detected_by": "passive-watch",
        "server_message": message,
        "sqlstate": sqlstate,
        "status": "FAILED",
        "success": False,
        "planned_duration_seconds": planned,
        "expected_cutoff_seconds": cutoff,
        "server_settings": {"idle_session_timeout": "40min", "statement_timeout": "0"},
        "target": {"host": "proxy.example.com", "port": 5432, "dbname": "pulp", "user": "probe"},
        "events": [
            {"t": 0.0, "event": "connect", "detail": "backend pid 4242"},
            {"t": 0.01, "event": "query", "detail": "SELECT 1"},
            {"t": seconds, "event": "disconnect", "detail": message, "sqlstate": sqlstate},
        ],
    }


def alive_result(test_name: str, planned: float = 3000.0, heartbeats: int | None = None) -> dict:
    result = {
        "test": test_name,
        "test_name": test_name,
        "connection_alive": True,
        "disconnected": False,
        "status": "PASSED",
        "success": True,
        "planned_duration_seconds": planned,
        "events": [{"t": 0.0, "event": "connect"}, {"t": planned, "event": "final-check"}],
    }
    if heartbeats is not None:
        result["heartbeats_ok"] = heartbeats
    return result


@dataclass
class MockPulp:
    """State of the fake server; `transport` is what the dashboard's client uses."""

    username: str = "admin"
    password: str = "secret"
    plugin_installed: bool = True
    enabled: bool = True
    gone: bool = False  # every request fails as if the server were down
    login_endpoint: bool = True  # False: an older pulpcore without GET .../login/
    cutoff: float = 2400.0
    in_transaction_cutoff: float | None = None  # None: the idle cutoff, as the plugin says
    unit: float = 60.0
    workers: int = 3
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> task JSON
    order: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # method, path
    # The task ids each task-list request asked for, in order.
    polled_ids: list[list[str]] = field(default_factory=list)
    dispatched: list[dict[str, Any]] = field(default_factory=list)
    # Text the server puts in everything it says (tests/client/fakepulp.py's HOSTILE):
    # catalog, 202, progress messages, error bodies, the status; None: a normal server.
    hostile: str | None = None

    def says(self, text: str) -> str:
        return text if self.hostile is None else f"{text} {self.hostile}"

    def catalog(self) -> dict:
        catalog = plugin_catalog(self.cutoff, self.unit, self.enabled, self.in_transaction_cutoff)
        if self.hostile is not None:
            catalog["descriptions"] = {name: self.hostile for name in catalog["descriptions"]}
            for test in catalog["tests"]:
                for key in ("title", "description", "tells_you", "expected_outcome"):
                    test[key] = self.hostile
            catalog["plugin_version"] = self.hostile
        return catalog

    # --- what tests do to the server ---

    def add_task(self, test_name: str, state: str = "waiting", **fields: Any) -> str:
        task_id = str(uuid.UUID(int=len(self.order) + 1))
        self.tasks[task_id] = {
            "pulp_href": f"{TASKS_PATH}{task_id}/",
            "state": state,
            "name": f"pulp_rds_tests.app.tasks.{test_name}",
            "logging_cid": "cid",
            "started_at": None,
            "finished_at": None,
            "error": None,
            "progress_reports": (
                [{"message": self.hostile, "code": self.hostile, "state": "running"}]
                if self.hostile is not None
                else []
            ),
            "result": None,
            "test_name": test_name,
        }
        self.tasks[task_id].update(fields)
        self.order.append(task_id)
        return task_id

    def update(self, task_id: str, **fields: Any) -> None:
        self.tasks[task_id].update(fields)

    def task_for(self, test_name: str) -> str:
        return next(i for i in self.order if self.tasks[i]["test_name"] == test_name)

    # --- HTTP ---

    def client(self, profile: Any) -> PulpClient:
        return PulpClient.from_profile(profile, transport=httpx.MockTransport(self.handle))

    def _authenticated(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.username and password == self.password

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = urlsplit(str(request.url)).path
        self.requests.append((request.method, path))
        if self.gone:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if path == "/pulp/api/v3/status/":
            workers = [{"name": f"w{i}"} for i in range(self.workers)]
            return self._json(
                200,
                {
                    "versions": [{"component": "core", "version": self.says("3.123.1")}],
                    "online_workers": workers,
                },
            )
        if path == TESTS_PATH:
            if not self.plugin_installed:
                return httpx.Response(
                    404, text="<h1>Not Found</h1>", headers={"content-type": "text/html"}
                )
            if request.method == "GET":
                return self._json(200, self.catalog())
            if not self._authenticated(request):
                return self._unauthorized()
            if not self.enabled:
                return self._json(
                    403,
                    {
                        "error": self.says("RDS connection tests are not enabled."),
                        "hint": self.says("Set RDS_CONNECTION_TESTS_ENABLED = True."),
                    },
                )
            body = json.loads(request.content)
            self.dispatched.append(body)
            tasks = []
            for name in body["tests"]:
                task_id = self.add_task(name)
                tasks.append(
                    {
                        "test_name": self.says(name),
                        "task_id": task_id,
                        "task_href": self.tasks[task_id]["pulp_href"],
                    }
                )
            duration = body.get("duration_minutes", 50)
            return self._json(
                202,
                {
                    "message": self.says(f"Dispatched {len(tasks)} test(s)"),
                    "tasks": tasks,
                    "run_sequentially": body.get("run_sequentially", False),
                    "duration_minutes": duration,
                    "time_unit_seconds": self.unit,
                    **cutoffs(self.cutoff, self.in_transaction_cutoff),
                    "note": self.says(
                        f"Each test runs for approximately {duration} minutes. "
                        "Monitor task status via task_href."
                    ),
                },
            )
        if path == LOGIN_PATH and self.login_endpoint:
            if not self._authenticated(request):
                return self._unauthorized()
            return self._json(
                200, {"pulp_href": "/pulp/api/v3/users/1/", "username": self.username}
            )
        if path.startswith(TASKS_PATH):
            if not self._authenticated(request):
                return self._unauthorized()
            if path == TASKS_PATH:
                query = parse_qs(urlsplit(str(request.url)).query)
                if "pulp_id__in" in query:
                    ids = query["pulp_id__in"][0].split(",")
                    self.polled_ids.append(ids)
                    results = [self._public(i) for i in ids if i in self.tasks]
                else:
                    results = []
                return self._json(200, {"count": len(results), "results": results})
            task_id = path.rstrip("/").rsplit("/", 1)[-1]
            if task_id not in self.tasks:
                return self._json(404, {"detail": self.says("Not found.")})
            if request.method == "PATCH":
                task = self.tasks[task_id]
                if task["state"] in ("completed", "failed", "canceled", "skipped"):
                    return self._json(409, {"detail": self.says("Task is already final.")})
                task["state"] = "canceling"
            return self._json(200, self._public(task_id))
        return self._json(404, {"detail": self.says("Not found.")})

    def _public(self, task_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.tasks[task_id].items() if k != "test_name"}

    @staticmethod
    def _json(status: int, body: Any) -> httpx.Response:
        # No Date header: the dashboard's fixed test clock then needs no skew correction.
        return httpx.Response(status, json=body)

    def _unauthorized(self) -> httpx.Response:
        return httpx.Response(
            401,
            json={"detail": self.says("Invalid username/password.")},
            headers={"WWW-Authenticate": 'Basic realm="api"'},
        )
