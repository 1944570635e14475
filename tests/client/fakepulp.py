"""A small Pulp look-alike over real HTTP/1.1 (keep-alive) for client tests and benchmarks.

It answers the tests endpoint with the guide's exact JSON (the original pulp-service
shape: only `available_tests`, `descriptions`, `usage`), dispatches fake tasks that
move waiting -> running -> a final state over a number of polls, and serves the tasks
list with `pulp_id__in`. It records every request and counts TCP connections, which
is what the client's "one request per poll, one connection per session" claims need.
The end-to-end tests use the real lab; this stands in for servers we cannot run here
(the original endpoint) and for exact request accounting.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from rds_tui.catalog import TEST_NAMES

# The guide's GET response, verbatim (its seven names, in its order, are the client's
# catalog).
GUIDE_CATALOG = {
    "available_tests": list(TEST_NAMES),
    "descriptions": {
        "test_1_idle_connection": "Idle connection test (50 min) - baseline timeout test",
        "test_2_active_heartbeat": "Active heartbeat test (50 min) - periodic queries",
    },
    "usage": {
        "endpoint": "/api/pulp/rds-connection-tests/",
        "method": "POST",
        "body": {
            "tests": ["test_1_idle_connection", "test_2_active_heartbeat"],
            "run_sequentially": False,
        },
    },
}

# The original's result for test 1 (the fields the guide's output shows and the
# original returned; none of the plugin's additions).
ORIGINAL_RESULT = {
    "test": "Test 1 - Django Idle Connection",
    "started_at": "2026-11-28T09:00:00.000000",
    "finished_at": "2026-11-28T09:40:12.000000",
    "duration_minutes": 40.2,
    "connection_alive": False,
    "success": False,
    "status": "FAILED",
    "error": {"type": "OperationalError", "message": "server closed the connection unexpectedly"},
}


# What a hostile server or database role can put in any text it sends: Rich/Textual
# markup (a closing tag that crashes a parser, an action, a link), OSC 52 (writes the
# clipboard), CSI (rewrites a line), BEL, NUL, a C1 CSI, BiDi overrides, and 10 kB.
HOSTILE_MARKUP = "[/x] [@click=app.quit]quit[/] [link=http://x]link[/link]"
HOSTILE = (
    HOSTILE_MARKUP
    + " \x1b]52;c;cm0gLXJmIH4K\x07\x1b[2K\x1b[1APASSED\r\x00\x07\x9b31m\u202eevil\u2066"
    + "A" * 10_000
)
# The bytes a terminal would obey: none of them may reach an output.
TERMINAL_CONTROLS = ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066", "\r")


def hostile_result(hostile: str) -> dict:
    """A probe result whose every text field (and a NOTIFY payload) is `hostile`."""
    return {
        **ORIGINAL_RESULT,
        "test": hostile,
        "status": hostile,
        "error": {"type": hostile, "message": hostile},
        "test_name": "test_1_idle_connection",
        "disconnected": True,
        "seconds_to_disconnect": 2402.5,
        "detected_by": hostile,
        "server_message": hostile,
        "client_message": hostile,
        "sqlstate": "57P05",
        "server_settings": {"idle_session_timeout": hostile},
        "events": [
            {"t": 0.0, "event": "connect", "detail": hostile},
            {"t": 1.0, "event": "notification", "detail": hostile, "payload": hostile},
            {"t": 2402.5, "event": hostile, "detail": hostile},
        ],
    }


class FakePulp:
    """Start with `with FakePulp() as pulp:`; `pulp.url` is the --api-root.

    `hostile`: a string the server puts in every text it sends (catalog, 202, progress,
    task errors, results, error bodies), as a compromised server or a database role
    sending NOTIFY payloads could."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        enabled: bool = True,
        plugin_installed: bool = True,
        polls_to_finish: int = 2,
        final_state: str = "completed",
        result: dict | None = None,
        tls: ssl.SSLContext | None = None,
        hostile: str | None = None,
    ) -> None:
        self.users = users if users is not None else {"admin": "password"}
        self.enabled = enabled
        self.plugin_installed = plugin_installed
        self.polls_to_finish = polls_to_finish
        self.final_state = final_state
        self.hostile = hostile
        if result is None:
            result = hostile_result(hostile) if hostile is not None else ORIGINAL_RESULT
        self.result = result
        # With TLS, a verified client certificate authenticates as "admin" (mTLS).
        self.tls = tls
        self.tasks: dict[str, dict] = {}  # id -> {"polls": n, "name": test, "cid": ...}
        self.requests: list[tuple[str, str, dict]] = []  # method, path, query
        self.headers_seen: list[dict[str, str]] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ---

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def start(self) -> FakePulp:
        fake = self

        class Handler(_Handler):
            pulp = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def task_polls(self) -> list[tuple[str, str, dict]]:
        return [r for r in self.requests if r[0] == "GET" and r[1].endswith("/tasks/")]

    # --- behaviour ---

    def task_json(self, task_id: str) -> dict:
        task = self.tasks[task_id]
        polls = task["polls"]
        if task.get("canceled"):
            state = "canceled"
        elif polls == 0:
            state = "waiting"
        elif polls < self.polls_to_finish:
            state = "running"
        else:
            state = self.final_state
        data = {
            "pulp_href": f"/pulp/api/v3/tasks/{task_id}/",
            "state": state,
            "name": "pulp_service.app.tasks.rds_connection_tests." + task["name"],
            "logging_cid": task["cid"],
            "started_at": "2026-11-28T09:00:00.000000Z" if polls else None,
            "finished_at": "2026-11-28T09:40:12.000000Z"
            if state in ("completed", "failed", "canceled")
            else None,
            "error": {"description": "boom"} if state == "failed" else None,
            "progress_reports": [],
            "result": self.result if state == "completed" else None,
        }
        if self.hostile is not None:
            if state == "failed":
                data["error"] = {"description": self.hostile, "traceback": self.hostile}
            data["progress_reports"] = [
                {"message": self.hostile, "code": self.hostile, "state": "running", "done": 1}
            ]
        return data

    def catalog(self) -> dict:
        """The GET answer: the guide's, or with `hostile`, hostile text in every field
        (and the plugin's `tests` details)."""
        if self.hostile is None:
            return GUIDE_CATALOG
        return {
            **GUIDE_CATALOG,
            "descriptions": {name: self.hostile for name in TEST_NAMES},
            "tests": [
                {
                    "name": name,
                    "title": self.hostile,
                    "description": self.hostile,
                    "tells_you": self.hostile,
                    "expected_outcome": self.hostile,
                }
                for name in TEST_NAMES
            ],
            "plugin_version": self.hostile,
        }

    def says(self, text: str) -> str:
        """An error body's text: with `hostile`, the server's words followed by it."""
        return text if self.hostile is None else f"{text} {self.hostile}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    pulp: FakePulp

    def setup(self) -> None:
        super().setup()
        with self.pulp._lock:
            self.pulp.connections += 1

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: object | None = None, headers: dict | None = None) -> None:
        data = (
            b""
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        self.send_response(status)
        self.send_header("Date", formatdate(usegmt=True))
        self.send_header(
            "Content-Type", "application/json" if not isinstance(body, bytes) else "text/html"
        )
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _user(self) -> str | None | bool:
        """The authenticated user, None when anonymous, False for wrong credentials."""
        header = self.headers.get("Authorization", "")
        connection = self.connection
        if not header and isinstance(connection, ssl.SSLSocket) and connection.getpeercert():
            return "admin"
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.pulp.users.get(user) == password else False

    def _refused_login(self) -> bool:
        """Answer 401 (like pulpcore) unless a known user is authenticated."""
        if self._user() in (None, False):
            self._send(
                401,
                {"detail": self.pulp.says("Invalid username/password.")},
                {"WWW-Authenticate": 'Basic realm="api"'},
            )
            return True
        return False

    def _record(self) -> tuple[str, dict]:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.pulp._lock:
            self.pulp.requests.append((self.command, parts.path, query))
            self.pulp.headers_seen.append(dict(self.headers))
        return parts.path, query

    def _body(self) -> object:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def do_GET(self) -> None:
        path, query = self._record()
        if path == "/api/pulp/rds-connection-tests/":
            if not self.pulp.plugin_installed:
                return self._send(404, b"<h1>Not Found</h1>")
            return self._send(200, self.pulp.catalog())
        if self._refused_login():
            return None
        if path == "/pulp/api/v3/tasks/":
            ids = [i for i in query.get("pulp_id__in", "").split(",") if i]
            results = []
            with self.pulp._lock:
                for task_id in ids:
                    if task_id in self.pulp.tasks:
                        self.pulp.tasks[task_id]["polls"] += 1
                        results.append(self.pulp.task_json(task_id))
            return self._send(
                200, {"count": len(results), "next": None, "previous": None, "results": results}
            )
        if path.startswith("/pulp/api/v3/tasks/"):
            task_id = path.rstrip("/").rsplit("/", 1)[-1]
            if task_id in self.pulp.tasks:
                return self._send(200, self.pulp.task_json(task_id))
        return self._send(404, {"detail": self.pulp.says("Not found.")})

    def do_POST(self) -> None:
        path, _ = self._record()
        body = self._body()
        if path != "/api/pulp/rds-connection-tests/" or not self.pulp.plugin_installed:
            return self._send(404, b"<h1>Not Found</h1>")
        if self._refused_login():
            return None
        if not self.pulp.enabled:
            return self._send(
                403,
                {
                    "error": self.pulp.says("RDS connection tests are not enabled."),
                    "hint": self.pulp.says("Set RDS_CONNECTION_TESTS_ENABLED = True"),
                },
            )
        tasks = []
        with self.pulp._lock:
            for name in body["tests"]:
                task_id = str(uuid.uuid4())
                self.pulp.tasks[task_id] = {
                    "polls": 0,
                    "name": name,
                    "cid": self.headers.get("Correlation-ID"),
                }
                tasks.append(
                    {
                        "test_name": self.pulp.says(name),
                        "task_id": task_id,
                        "task_href": f"/pulp/api/v3/tasks/{task_id}/",
                    }
                )
        self._send(
            202,
            {
                "message": self.pulp.says(f"Dispatched {len(tasks)} test(s)"),
                "tasks": tasks,
                "run_sequentially": body.get("run_sequentially", False),
                "note": self.pulp.says(
                    "Each test runs for approximately 50 minutes. Monitor task status via task_href."
                ),
            },
        )

    def do_PATCH(self) -> None:
        path, _ = self._record()
        body = self._body()
        task_id = path.rstrip("/").rsplit("/", 1)[-1]
        if task_id not in self.pulp.tasks or body != {"state": "canceled"}:
            return self._send(404, {"detail": "Not found."})
        with self.pulp._lock:
            current = self.pulp.task_json(task_id)
            if current["state"] in ("completed", "failed", "canceled", "skipped"):
                return self._send(
                    409, {"detail": self.pulp.says(f"Task is in a final state: {current['state']}")}
                )
            self.pulp.tasks[task_id]["canceled"] = True
            data = self.pulp.task_json(task_id)
        data["state"] = "canceling"
        self._send(200, data)
