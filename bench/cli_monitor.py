"""Requests per status check and TCP connections per monitoring session.

Targets: 1 request per poll for a run of 50 tasks, and 1 TCP connection for a whole
monitoring session. Runs the real PulpClient + RunMonitor over real HTTP through a
counting TCP forwarder, against a keep-alive fake Pulp (tests/client/fakepulp.py)
serving 50 tasks by default, or against a real server:

    .venv/bin/python bench/cli_monitor.py [--json]
    .venv/bin/python bench/cli_monitor.py --api-root http://127.0.0.1:PORT --user admin \\
        --password ... --tests 7 --duration 3      # e.g. a lab from `rds-tui lab up --detach`

Against pulpcore-api directly the connection count is one per request: its gunicorn sync
workers close every connection after the response. Behind a keep-alive reverse proxy (as
in production) the client keeps one connection.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from client.fakepulp import FakePulp
from client.tcpproxy import TcpProxy
from figures import argument_parser, figure, print_json

from rds_tui.api import PulpClient
from rds_tui.catalog import TEST_NAMES
from rds_tui.monitor import Polled, RunMonitor


async def measure(
    api_root: str, auth: tuple[str, str], tests: list[str], duration: int | None, interval: float
) -> dict:
    async with PulpClient(api_root, auth=auth) as client:
        response = await client.dispatch(tests, duration_minutes=duration)
        dispatch_requests = client.requests_sent
        monitor = RunMonitor(client, response, interval=interval)
        polls = 0

        def on_event(event):
            nonlocal polls
            if isinstance(event, Polled):
                polls += 1

        started = time.perf_counter()
        await monitor.run(on_event)
        elapsed = time.perf_counter() - started
        return {
            "tasks": len(response.tasks),
            "polls": polls,
            "poll_requests": client.requests_sent - dispatch_requests,
            "seconds": elapsed,
        }


def session(
    api_root: str | None = None,
    user: str = "admin",
    password: str = "password",
    tests: int = 50,
    duration: int | None = None,
    poll_interval: float = 0.2,
) -> dict:
    """One dispatch + monitoring session through a counting forwarder: the figures of
    `measure` plus the TCP connections and where it ran."""
    fake = None
    if api_root:
        upstream = urlsplit(api_root)
        names = [TEST_NAMES[i % len(TEST_NAMES)] for i in range(tests)]
        where = api_root
    else:
        fake = FakePulp(users={user: password}, polls_to_finish=10).start()
        upstream = urlsplit(fake.url)
        names = [f"test_{i}" for i in range(tests)]
        where = "fake keep-alive Pulp"
    proxy = TcpProxy(upstream.hostname, upstream.port).start()
    try:
        result = asyncio.run(measure(proxy.url, (user, password), names, duration, poll_interval))
    finally:
        proxy.stop()
        if fake is not None:
            fake.stop()
    return {**result, "connections": proxy.connections_accepted, "where": where}


def figures(tests: int = 50, poll_interval: float = 0.2) -> list[dict]:
    return to_figures(session(tests=tests, poll_interval=poll_interval))


def to_figures(raw: dict) -> list[dict]:
    return [
        figure(
            "cli_monitor",
            f"requests per status check ({raw['tasks']} tasks)",
            raw["poll_requests"] / max(raw["polls"], 1),
            "",
            ("==", 1),
            note=f"{raw['polls']} status checks on the {raw['where']}",
        ),
        figure(
            "cli_monitor",
            "TCP connections per monitoring session",
            raw["connections"],
            "",
            ("==", 1),
        ),
    ]


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--api-root")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="password")
    parser.add_argument("--tests", type=int, default=50, help="number of tasks to dispatch")
    parser.add_argument("--duration", type=int, default=None, help="minutes (real servers)")
    parser.add_argument("--poll-interval", type=float, default=0.2)
    options = parser.parse_args()
    raw = session(
        options.api_root,
        options.user,
        options.password,
        options.tests,
        options.duration,
        options.poll_interval,
    )
    if options.json:
        print_json(to_figures(raw))
        return
    print(
        f"monitoring {raw['tasks']} tasks on {raw['where']}, poll every {options.poll_interval} s:"
    )
    print(
        f"  status checks: {raw['polls']}, task requests: {raw['poll_requests']} "
        f"-> {raw['poll_requests'] / max(raw['polls'], 1):.2f} request(s) per check "
        "(target 1)"
    )
    print(
        f"  TCP connections for the whole session (dispatch + monitoring): "
        f"{raw['connections']} (target 1)"
    )
    print(f"  session length: {raw['seconds']:.1f} s")


if __name__ == "__main__":
    main()
