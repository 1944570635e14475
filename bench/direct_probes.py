"""The client's cost of a direct run: CPU and memory of `rds-tui probe --all` holding
seven probes against a lab's PgBouncer (printed).

Starts a lab whose timeouts are long enough that nothing dies, runs `rds-tui probe --all
--duration N --time-unit U` as a child process, and reads the child from the outside:
its CPU time (utime + stime of every thread, /proc/PID/stat) between a few seconds after
the probes started (the interpreter's start-up and imports are not holding probes) and
a few seconds before their end, and its peak resident memory (VmHWM, and the kernel's
ru_maxrss of the reaped child).

    .venv/bin/python bench/direct_probes.py [--minutes 2] [--time-unit 60]

Targets: under 0.1 CPU seconds per probe-minute (the plugin's probe target: each probe
waits in epoll on its socket) and at most 150 MiB peak RSS for the whole client.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from probe_lab import throwaway_lab

TICKS = os.sysconf("SC_CLK_TCK")
PROBES = 7
# After the run appears in the history: every probe connected and past its opening query.
SETTLE_SECONDS = 5.0
# Stop measuring this long before the probes' planned end.
MARGIN_SECONDS = 5.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: all threads


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def wait_for_run(runs: Path, child: subprocess.Popen, timeout: float = 60) -> None:
    """Until the run is in the child's history (written right after the dispatch)."""
    deadline = time.monotonic() + timeout
    while not any(runs.glob("*.json")):
        if child.poll() is not None:
            raise SystemExit(f"rds-tui probe ended early (exit {child.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"no run in {runs} after {timeout} s")
        time.sleep(0.2)


def measure(lab: dict, minutes: int, time_unit: float) -> None:
    pgb = lab["pgbouncer"]
    with tempfile.TemporaryDirectory(prefix="rds-bench-direct-") as home:
        env = {
            **os.environ,
            "RDS_TUI_DATA_DIR": str(Path(home) / "data"),
            "RDS_TUI_CONFIG": str(Path(home) / "profiles.toml"),
            "BENCH_DSN": f"postgresql://{lab['probe']['user']}@{pgb['host']}:{pgb['port']}/pulp",
            "BENCH_PASSWORD": lab["probe"]["password"],
        }
        argv = [
            sys.executable, "-m", "rds_tui", "probe", "--dsn-env", "BENCH_DSN",
            "--password-env", "BENCH_PASSWORD", "--all", "--duration", str(minutes),
            "--time-unit", f"{time_unit:g}", "--json",
        ]  # fmt: skip
        started = time.monotonic()
        child = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        wait_for_run(Path(home) / "data" / "runs", child)
        time.sleep(SETTLE_SECONDS)
        at_start = cpu_seconds(child.pid)
        measure_from = time.monotonic()
        startup_cpu = at_start
        end = started + minutes * time_unit - MARGIN_SECONDS
        time.sleep(max(1.0, end - time.monotonic()))
        at_end = cpu_seconds(child.pid)
        held = time.monotonic() - measure_from
        hwm, thread_count = peak_rss_mib(child.pid), threads(child.pid)
        out = child.stdout.read()  # until the child ends (its --json document)
        # wait4: this child's own usage (RUSAGE_CHILDREN would add the lab's initdb).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    print(f"rds-tui probe exit {child.returncode}; {len(out)} bytes of --json output")
    print(f"threads while holding: {thread_count}")
    print(f"start-up and dispatch: {startup_cpu:.2f} CPU s (before the measured window)")
    per_probe_minute = (at_end - at_start) / (PROBES * held / 60)
    print(
        f"holding {PROBES} probes for {held:.1f} s: {at_end - at_start:.3f} CPU s "
        f"(clock tick {1 / TICKS:.2f} s)"
    )
    print(f"mean: {per_probe_minute:.4f} CPU s per probe-minute (target < 0.1)")
    print(f"whole run (reaped child): {usage.ru_utime + usage.ru_stime:.2f} CPU s")
    print(f"peak RSS: {max(hwm, usage.ru_maxrss / 1024):.1f} MiB (target <= 150)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=2, help="probe duration in units (2)")
    parser.add_argument(
        "--time-unit", type=float, default=60.0, help="seconds per unit (default 60)"
    )
    args = parser.parse_args()
    if args.minutes * args.time_unit < SETTLE_SECONDS + MARGIN_SECONDS + 10:
        parser.error("--minutes x --time-unit must leave at least 10 s to measure")
    lab_options = {"workers": 1, "idle_timeout": 3600, "idle_in_transaction_timeout": 3600}
    with throwaway_lab(**lab_options) as lab:
        measure(lab, args.minutes, args.time_unit)


if __name__ == "__main__":
    main()
