"""Cold start of `rds-tui rds_connection_tests --list` (built-in catalog, no server).

Target on the reference machine: under 0.3 s (the original tool needs ~1.1 s: it imports
pandas and numpy and asks the server first). Prints the median and spread of N runs of
the installed console script, and which heavy modules the command imported.

    .venv/bin/python bench/cli_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("textual", "pydantic", "httpx", "rich", "platformdirs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    script = Path(sys.executable).with_name("rds-tui")
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
        env.update(RDS_TUI_CONFIG=f"{home}/profiles.toml", RDS_TUI_DATA_DIR=f"{home}/data")
        command = [str(script), "rds_connection_tests", "--list"]
        subprocess.run(command, env=env, capture_output=True, check=True)  # warm the page cache
        times = []
        for _ in range(options.runs):
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - started)
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import sys; sys.argv=['rds-tui','rds_connection_tests','--list'];"
                    "from rds_tui.cli import main; main();"
                    f"print('IMPORTED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
                ),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        bare = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
            bare.append(time.perf_counter() - started)
    imported = [line for line in probe.stderr.splitlines() if line.startswith("IMPORTED")]
    print(f"rds-tui rds_connection_tests --list, {options.runs} runs:")
    print(
        f"  median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (target < 300 ms)"
    )
    print(f"  bare interpreter start: median {statistics.median(bare) * 1000:.0f} ms")
    print(f"  heavy modules imported: {imported[0].split(' ', 1)[1] if imported else '?'}")


if __name__ == "__main__":
    main()
