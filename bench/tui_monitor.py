"""CPU and memory of the dashboard while it monitors 200 running tasks (target: under 5 %
of one core), timers ticking every second, in a real pseudo-terminal.

The child process runs the dashboard on the Monitor screen of a 200-task run served by
the in-process mock Pulp of the dashboard tests (every task running, started at
different times; polled every 10 s as in production, 2 requests per poll); the parent
drains the terminal output and reads the child's CPU time and memory from /proc.

    .venv/bin/python bench/tui_monitor.py [--tasks 200] [--seconds 30] [--size 100x30] [--json]
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from figures import argument_parser, figure, print_json

ROOT = Path(__file__).resolve().parents[1]
CPU_TARGET_PERCENT = 5

CHILD = """
import sys, tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rds_tui.app import RdsTuiApp
from rds_tui.profiles import Profile, ProfileStore
from rds_tui.runs import Run, RunStore, RunTask
from rds_tui.screens.monitor import MonitorScreen
from tests.tui.mock_pulp import MockPulp

tasks = int(sys.argv[1])
names = ["test_1_idle_connection", "test_2_active_heartbeat", "test_6_listen_notify"]
pulp = MockPulp()
now = datetime.now(UTC)
for index in range(tasks):
    pulp.add_task(names[index % 3], "running",
                  started_at=(now - timedelta(seconds=30 * index)).isoformat())
home = Path(tempfile.mkdtemp())
profiles = ProfileStore(home / "profiles.toml")
profiles.upsert(Profile(name="prod", api_root="https://pulp.example.com", username="admin",
                        password=pulp.password))
runs = RunStore(home / "runs")
run = runs.create(Run(
    profile="prod", api_root="https://pulp.example.com", tests=names,
    options={"duration_minutes": 50, "expected_cutoff_seconds": 2400},
    tasks=[RunTask(test_name=pulp.tasks[i]["test_name"], task_id=i,
                   task_href=pulp.tasks[i]["pulp_href"]) for i in pulp.order],
))


class Bench(RdsTuiApp):
    def on_ready(self):
        self.push_screen(MonitorScreen(run))


Bench(profile_store=profiles, run_store=runs, client_factory=pulp.client,
      default_poll_interval=10).run()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def measure(tasks: int = 200, seconds: float = 30.0, size: str = "100x30") -> dict:
    """CPU seconds, terminal output and memory of the dashboard monitoring `tasks`."""
    columns, rows = (int(part) for part in size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            TERM="xterm-256color",
            PYTHONPATH=str(ROOT),
            RDS_TUI_CONFIG=str(Path(tmp) / "p.toml"),
            RDS_TUI_DATA_DIR=tmp,
        )
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(sys.executable, [sys.executable, "-c", CHILD, str(tasks)], env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        written = [0]

        def drain() -> None:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                written[0] += len(chunk)

        threading.Thread(target=drain, daemon=True).start()
        time.sleep(8)  # start-up, first poll, first frames
        cpu_before, bytes_before, started = cpu_seconds(pid), written[0], time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(pid) - cpu_before
        output = written[0] - bytes_before
        memory = memory_kib(pid)
        os.write(fd, b"q")
        for _ in range(50):
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    return {
        "tasks": tasks,
        "size": size,
        "elapsed": elapsed,
        "cpu": cpu,
        "output_bytes": output,
        "memory": memory,
    }


def figures(tasks: int = 200, seconds: float = 30.0) -> list[dict]:
    return to_figures(measure(tasks, seconds))


def to_figures(raw: dict) -> list[dict]:
    return [
        figure(
            "tui_monitor",
            f"dashboard CPU monitoring {raw['tasks']} tasks (% of one core)",
            100 * raw["cpu"] / raw["elapsed"],
            "%",
            ("<", CPU_TARGET_PERCENT),
            note=f"measured over {raw['elapsed']:.0f} s at {raw['size']}",
        ),
        figure(
            "tui_monitor",
            f"dashboard memory monitoring {raw['tasks']} tasks (RSS)",
            raw["memory"].get("VmRSS", 0) / 1024,
            "MiB",
        ),
    ]


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="100x30")
    args = parser.parse_args()
    raw = measure(args.tasks, args.seconds, args.size)
    if args.json:
        print_json(to_figures(raw))
        return
    columns, rows = (int(part) for part in args.size.split("x"))
    elapsed, cpu, output, memory = raw["elapsed"], raw["cpu"], raw["output_bytes"], raw["memory"]
    print(
        f"monitoring {args.tasks} running tasks at {columns}x{rows}, timers ticking, "
        f"poll every 10 s, measured over {elapsed:.0f} s:"
    )
    print(f"  CPU: {cpu:.2f} s = {100 * cpu / elapsed:.1f} % of one core   (target < 5 %)")
    print(f"  terminal output: {output / elapsed / 1024:.1f} KiB/s")
    print(
        f"  memory: RSS {memory.get('VmRSS', 0) / 1024:.0f} MiB, "
        f"peak {memory.get('VmHWM', 0) / 1024:.0f} MiB"
    )
    print(f"  load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
