"""Time from launching the dashboard to its first screen (target: under 0.8 s here).

Each run starts a fresh interpreter in a pseudo-terminal (a real terminal size, real
escape-code output) that runs the dashboard with three saved instances and exits as
soon as the Instances screen lists them. Prints, from the launch: the first frame (the
app is ready, the instances are read right after it), the instances listed, and the
child's CPU time (user+sys, less sensitive to other load on the machine); plus the
import time of textual and of rds_tui.app alone.

    .venv/bin/python bench/tui_start.py [--runs 10] [--json]
"""

from __future__ import annotations

import os
import pty
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import argument_parser, figure, print_json

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("first frame", "instances listed", "whole run (wall)", "whole run (cpu)")
FIRST_FRAME_TARGET_SECONDS = 0.8

CHILD = """
import os, time
from rds_tui.app import RdsTuiApp
from rds_tui.screens.instances import InstancesScreen

marks = []


class FirstScreen(RdsTuiApp):
    def on_ready(self):
        marks.append(time.time())
        self.exit_when_listed()

    def exit_when_listed(self):
        if isinstance(self.screen, InstancesScreen) and self.screen.profiles:
            marks.append(time.time())
            self.exit(0)
        else:
            self.call_after_refresh(self.exit_when_listed)


FirstScreen().run()
with open(os.environ["BENCH_MARKS"], "w") as out:
    out.write(" ".join(map(str, marks)))
"""


def run_in_pty(code: str, env: dict[str, str]) -> tuple[float, float, float, float]:
    """Seconds from launch to the first frame and to the instances listed, the whole
    run's wall and CPU seconds, for one `python -c code` in a 100x30 pseudo-terminal."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = time.time()
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a fresh interpreter, as `rds-tui` would start
        os.execve(sys.executable, [sys.executable, "-c", code], env)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    while True:  # drain the screen output until the child closes the terminal
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    os.waitpid(pid, 0)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.close(fd)
    first_frame, listed = (
        float(mark) - launched for mark in Path(env["BENCH_MARKS"]).read_text().split()
    )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return first_frame, listed, wall, cpu


def import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def measure(runs: int) -> dict:
    """Seconds per LABELS entry for each run."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "profiles.toml"
        config.write_text(
            "".join(
                f'[profiles.{name}]\napi_root = "https://{name}.example.com"\n'
                f'username = "admin"\npassword_env = "PULP_PASSWORD"\n\n'
                for name in ("prod", "staging", "lab")
            )
        )
        env = dict(
            os.environ,
            RDS_TUI_CONFIG=str(config),
            RDS_TUI_DATA_DIR=tmp,
            TERM="xterm-256color",
            PYTHONPATH=str(ROOT),
            BENCH_MARKS=str(Path(tmp) / "marks"),
        )
        run_in_pty(CHILD, env)  # warm the file cache and the .pyc files
        results = [run_in_pty(CHILD, env) for _ in range(runs)]
    return {label: [result[index] for result in results] for index, label in enumerate(LABELS)}


def figures(runs: int = 10) -> list[dict]:
    return to_figures(measure(runs))


def to_figures(raw: dict) -> list[dict]:
    median = statistics.median
    return [
        figure(
            "tui_start",
            "dashboard first frame (median)",
            median(raw["first frame"]),
            "s",
            ("<", FIRST_FRAME_TARGET_SECONDS),
        ),
        figure("tui_start", "instances listed (median)", median(raw["instances listed"]), "s"),
        figure("tui_start", "start and quit (CPU median)", median(raw["whole run (cpu)"]), "s"),
    ]


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    raw = measure(args.runs)
    if args.json:
        print_json(to_figures(raw))
        return
    print(f"launch to first screen, {args.runs} runs in a 100x30 pseudo-terminal:")
    for label, values in raw.items():
        target = "   (target < 0.8 s)" if label == "first frame" else ""
        print(
            f"  {label:<17} median {statistics.median(values):.3f} s  "
            f"min {min(values):.3f} s  max {max(values):.3f} s{target}"
        )
    print(
        f"  import textual.app: {import_time('textual.app'):.3f} s, "
        f"rds_tui.app: {import_time('rds_tui.app'):.3f} s"
    )
    print(f"  load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
