"""Start the lab's N pulpcore workers from one pre-imported process (run by rds_tui.lab.pulp).

A pulpcore worker spends ~3 s of CPU importing Django and pulpcore and almost nothing
after that; eight of them on two cores were most of the lab's start time. This
launcher imports `pulpcore.tasking.entrypoint` (the `pulpcore-worker` console script)
once, waits for "go" on stdin (the database is being prepared meanwhile), then forks
one real pulpcore worker per log file given, each in its own process group with its
output in its log, prints their pids as one JSON line and exits.

Run as: python -m rds_tui.lab.worker_launcher NAME_TEMPLATE LOG [LOG ...]
(NAME_TEMPLATE holds `{n}` for the worker's number; used only when this pulpcore's
worker accepts --name-template). Executed in its own process: the rds-tui client never
imports pulpcore.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import threading


def _run_worker(name_template: str, log_path: str) -> None:
    """In the forked child: become a plain pulpcore worker writing to its own log."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # private
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    random.seed()  # do not share the parent's random state between workers
    from pulpcore.tasking.entrypoint import worker

    # Only the options this pulpcore's worker command has (read from the command itself).
    accepted = {opt for param in worker.params for opt in param.opts}
    args = ["--name-template", name_template] if "--name-template" in accepted else []
    code = 0
    try:
        worker.main(args=args, prog_name="pulpcore-worker")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a forked child must never return into main()
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def main(argv: list[str]) -> int:
    name_template, logs = argv[0], argv[1:]
    import pulpcore.tasking.entrypoint  # noqa: F401  (django.setup(), all apps loaded)
    from django.db import connections

    connections.close_all()  # children must open their own database connections
    if threading.active_count() != 1:
        print("pulpcore started threads at import; refusing to fork workers", file=sys.stderr)
        return 1
    if sys.stdin.readline().strip() != "go":  # the lab gave up before the database was ready
        return 1
    pids = []
    for number, log_path in enumerate(logs, start=1):
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            _run_worker(name_template.replace("{n}", str(number)), log_path)
        with contextlib.suppress(OSError):  # also here: no race with the child's own call
            os.setpgid(pid, pid)
        pids.append(pid)
    print(json.dumps(pids), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
