"""Cold start of `rds-tui rds_connection_tests --list` (built-in catalog, no server).

Target on the reference machine: under 0.3 s. Prints wall time (median, min, max) and
CPU time (user+sys, less sensitive to other load on the machine) of N runs of the
installed console script, the same with --api-root (a local fake server answers the GET),
a bare interpreter for comparison, and which heavy modules the command imported.

    .venv/bin/python bench/cli_start.py [--runs 15] [--json]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from client.fakepulp import FakePulp
from figures import argument_parser, figure, print_json

HEAVY = ("textual", "pydantic", "httpx", "rich", "platformdirs")
TARGET_SECONDS = 0.3


def timed_runs(
    command: list[str], env: dict[str, str], runs: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run of `command`."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def measure(runs: int) -> dict:
    """Wall and CPU seconds per case, and the heavy modules `--list` imported."""
    script = str(Path(sys.executable).with_name("rds-tui"))
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
        env.update(RDS_TUI_CONFIG=f"{home}/profiles.toml", RDS_TUI_DATA_DIR=f"{home}/data")
        command = [script, "rds_connection_tests", "--list"]
        subprocess.run(command, env=env, capture_output=True, check=True)  # warm the page cache
        offline = timed_runs(command, env, runs)
        bare = timed_runs([sys.executable, "-c", "pass"], env, runs)
        with FakePulp() as pulp:
            online = timed_runs([script, "--api-root", pulp.url, *command[1:]], env, runs)
        probe = subprocess.run(
            [sys.executable, "-c",
             ("import sys; from rds_tui.cli import main; main(['rds_connection_tests', '--list']);"
             f"print('IMPORTED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)")],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    imported = [x for x in probe.stderr.splitlines() if x.startswith("IMPORTED")]
    return {
        "runs": runs,
        "offline": offline,
        "online": online,
        "bare": bare,
        "heavy_imported": imported[0].split(" ", 1)[1] if imported else "?",
    }


def figures(runs: int = 15) -> list[dict]:
    return to_figures(measure(runs))


def to_figures(raw: dict) -> list[dict]:
    median = statistics.median
    return [
        figure(
            "cli_start",
            "--list cold start, built-in catalog (wall median)",
            median(raw["offline"][0]),
            "s",
            ("<", TARGET_SECONDS),
            note=f"heavy modules imported: {raw['heavy_imported']}",
        ),
        figure("cli_start", "--list cold start (CPU median)", median(raw["offline"][1]), "s"),
        figure(
            "cli_start",
            "--list with --api-root, local server (wall median)",
            median(raw["online"][0]),
            "s",
        ),
        figure("cli_start", "bare interpreter (wall median)", median(raw["bare"][0]), "s"),
    ]


def line(label: str, walls: list[float], cpus: list[float]) -> str:
    ms = lambda seconds: f"{seconds * 1000:.0f} ms"
    return (
        f"  {label}: wall median {ms(statistics.median(walls))} (min {ms(min(walls))}, "
        f"max {ms(max(walls))}), CPU median {ms(statistics.median(cpus))}"
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    raw = measure(options.runs)
    if options.json:
        print_json(to_figures(raw))
        return
    print(f"rds-tui rds_connection_tests --list, {options.runs} runs each (target < 300 ms):")
    print(line("built-in catalog (no server)", *raw["offline"]))
    print(line("with --api-root (GET from a local server; loads httpx + pydantic)", *raw["online"]))
    print(line("bare interpreter, for comparison", *raw["bare"]))
    print(f"  heavy modules imported without a server: {raw['heavy_imported']}")


if __name__ == "__main__":
    main()
