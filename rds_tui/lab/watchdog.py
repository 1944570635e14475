"""The lab's watchdog: stops the lab once the process that started it has gone.

Run by `start(..., stop_with_owner=True)` as
`python -m rds_tui.lab.watchdog OWNER_PID OWNER_START_TIME LAB_DIR`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from rds_tui.lab.processes import process_alive, process_start_time
from rds_tui.lab.state import ProcessRecord


def argv(lab_dir: Path) -> list[str]:
    """The watchdog's command line for a lab started by this process."""
    owner = os.getpid()
    start_time = process_start_time(owner)
    return [sys.executable, "-m", __name__, str(owner), str(start_time), str(lab_dir)]


def stop_when_gone(owner_pid: int, owner_start_time: int, directory: Path) -> None:
    from rds_tui.lab.errors import LabError
    from rds_tui.lab.lifecycle import stop

    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))  # stopped along with the lab
    owner = ProcessRecord(pid=owner_pid, pgid=owner_pid, start_time=owner_start_time, log="")
    while process_alive(owner):
        time.sleep(0.5)
    with contextlib.suppress(LabError):
        if stop(directory):
            print(f"the owner (pid {owner_pid}) is gone: stopped the lab in {directory}")


if __name__ == "__main__":
    stop_when_gone(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
