"""Supervising the lab's processes: start them tracked, wait for them, stop them for sure.

Every lab process runs in its own process group with a marker in its environment
(LAB_DIR_ENV), is recorded in lab.json the moment it starts, and gets a minimal
environment (never the caller's: no PULP_PASSWORD or tokens reach the servers, whose
/proc/PID/environ other local users may read). Logs and directories are private.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rds_tui.lab.errors import LabError, PortTaken
from rds_tui.lab.state import HOST, LabState, ProcessRecord, write_state

# Set in the environment of every process of a lab: finds strays even without lab.json.
LAB_DIR_ENV = "RDS_TUI_LAB_DIR"
# The OS user that runs PostgreSQL and the proxies when we are root (they refuse root).
SERVER_OS_USER = "postgres"
SERVER_DIR_MIN_FREE = 1 << 30  # bytes free in /dev/shm to hold a lab's cluster there
START_TIMEOUT = 120.0  # seconds for any one component to become ready
WORKER_STOP_GRACE = 1.0  # a worker waits forever for its task on SIGTERM: then SIGKILL
SERVER_STOP_GRACE = 10.0
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# Variables a lab process may inherit: none of them carries a secret.
INHERITED_VARIABLES = ("TZ", "PYTHONPATH")
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


# --------------------------------------------------------------------------- /proc


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 = state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rfind(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None


def process_alive(record: ProcessRecord | Mapping[str, Any]) -> bool:
    """The recorded process still runs (same pid AND same start time: no pid reuse)."""
    if not isinstance(record, ProcessRecord):
        record = ProcessRecord.model_validate(record)
    fields = _proc_stat(record.pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == record.start_time


def process_group_members(pgid: int) -> list[int]:
    """Live pids whose process group is `pgid` (workers' task children included)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _proc_stat(int(entry.name))
        if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_groups_gone(pgids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [pgid for pgid in pgids if process_group_members(pgid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def stop_process_groups(pgids: list[int], first_signal: int, grace: float) -> None:
    """Signal each group, wait `grace` seconds, then SIGKILL whatever is left."""
    pgids = [pgid for pgid in pgids if process_group_members(pgid)]
    for pgid in pgids:
        _signal_group(pgid, first_signal)
    for pgid in _wait_groups_gone(pgids, grace):
        _signal_group(pgid, signal.SIGKILL)
    _wait_groups_gone(pgids, 5.0)


# Components stopped after the Pulp processes (which hold connections to them), in order,
# with the signal each stops quickest on. SIGINT = pgpool's fast shutdown (SIGTERM waits
# for its clients); SIGQUIT = PostgreSQL's immediate one: no shutdown checkpoint for
# throw-away data.
SERVER_STOP_ORDER = (
    ("pgbouncer", signal.SIGTERM),
    ("pgpool", signal.SIGINT),
    ("postgres", signal.SIGQUIT),
)


def stop_records(processes: Mapping[str, ProcessRecord]) -> None:
    """Stop recorded processes in dependency order, escalating to SIGKILL."""

    def ours(record: ProcessRecord) -> bool:
        if record.pid == os.getpid():  # the watchdog runs this when the owner is gone
            return False
        # pids wrap quickly on a busy machine: a live pid with another start time is not
        # ours any more (and its group cannot be ours either).
        started = process_start_time(record.pid)
        return started is None or started == record.start_time

    def groups(select: Callable[[str], bool]) -> list[int]:
        return [r.pgid for n, r in processes.items() if select(n) and ours(r)]

    servers = {name for name, _ in SERVER_STOP_ORDER}
    # Pulp first. SIGINT: gunicorn's quick shutdown, and a worker's non-graceful one
    # (SIGTERM makes it wait forever for a running task).
    stop_process_groups(groups(lambda n: n not in servers), signal.SIGINT, WORKER_STOP_GRACE)
    for server, first_signal in SERVER_STOP_ORDER:
        stop_process_groups(groups(lambda n, s=server: n == s), first_signal, SERVER_STOP_GRACE)
    for record in processes.values():  # reap our own children (no zombies left behind)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(record.pid, os.WNOHANG)


def server_dir_prefix(directory: Path) -> str:
    """Names the lab's server directory after its lab dir (see processes_of_lab)."""
    return f"rds-tui-lab-{hashlib.sha256(str(directory).encode()).hexdigest()[:12]}-"


def processes_of_lab(directory: Path) -> list[int]:
    """Live pids of this lab (needs /proc access): those carrying its marker in their
    environment, and those working in its server directory (PostgreSQL's children
    overwrite their environment with their process titles)."""
    directory = Path(directory).expanduser().absolute()
    marker = f"{LAB_DIR_ENV}={directory}".encode()
    server_dir_part = "/" + server_dir_prefix(directory)
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            ours = marker in (entry / "environ").read_bytes().split(b"\0")
            ours = ours or server_dir_part in os.readlink(entry / "cwd")
        except OSError:
            continue
        fields = _proc_stat(int(entry.name))
        if ours and fields and fields[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return pids


def kill_strays(directory: Path, timeout: float = 5.0) -> None:
    """SIGKILL any process of this lab still alive (unrecorded: a crash mid-start) and
    wait until they are gone."""
    deadline = time.monotonic() + timeout
    while (strays := processes_of_lab(directory)) and time.monotonic() < deadline:
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.rstrip().splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) if tail else "    (log is empty)"


# --------------------------------------------------------------------------- ports


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def pick_free_ports(count: int, avoid: set[int]) -> list[int]:
    ports: list[int] = []
    held = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
            if port not in avoid:
                ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def listening_ports_of(pids: set[int]) -> list[int]:
    """TCP ports some of `pids` listen on (read from /proc, no external tools)."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and parts[9] in inodes:  # 0A = LISTEN
                    ports.append(int(parts[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


# --------------------------------------------------------------------------- users, dirs


def as_server_user() -> dict[str, Any]:
    """Popen arguments that run PostgreSQL and the proxies as an unprivileged user when root."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise LabError(
            "The lab runs as root, but PostgreSQL and PgBouncer refuse to run as root and "
            f"there is no `{SERVER_OS_USER}` OS user to run them as. Install the Debian "
            "package `postgresql` (it creates that user: sudo apt-get install -y postgresql) "
            "or run the lab as an ordinary user."
        ) from None
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def server_dir_parent() -> str:
    """/dev/shm when it is a writable tmpfs with room, else the temporary directory."""
    shm = Path("/dev/shm")
    with contextlib.suppress(OSError):
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > SERVER_DIR_MIN_FREE:
            return str(shm)
    return tempfile.gettempdir()


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) as 0700, whatever the umask."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)


def write_private(path: Path, text: str, server: bool = False) -> None:
    """Write a 0600 file; with `server`, owned by the server user (who must read it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if server:
        chown_to_server_user(path)


def minimal_environment(**variables: str) -> dict[str, str]:
    """A lab process's whole environment: the system PATH, a C.UTF-8 locale, the few
    harmless variables of INHERITED_VARIABLES, and `variables`."""
    env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    env.update({name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ})
    env.update(variables)
    return env


# --------------------------------------------------------------------------- supervisor


class Supervisor:
    """Starts and tracks one lab's processes during a start; records each in lab.json."""

    def __init__(self, directory: Path, state: LabState, server_dir: Path):
        self.dir = directory
        self.state = state
        self.server_dir = server_dir
        self.logs = directory / "logs"
        self.server_user = as_server_user()
        self.popens: dict[str, subprocess.Popen] = {}

    @property
    def processes(self) -> dict[str, ProcessRecord]:
        return self.state.processes

    def save_state(self) -> None:
        write_state(self.dir, self.state)

    def record(self, name: str, pid: int) -> None:
        self.processes[name] = ProcessRecord(
            pid=pid, pgid=pid, start_time=process_start_time(pid) or 0,
            log=str(self.log_path(name)),
        )  # fmt: skip

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def open_log(self, name: str) -> int:
        """A private (0600) log file of `name`, opened for appending (postgres restarts
        during a cold start)."""
        return os.open(
            self.log_path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE
        )

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        server: bool = False,
        pipes: bool = False,
    ) -> subprocess.Popen:
        """Start a tracked child in its own process group, output to logs/NAME.log.

        `env`: its environment (default: the minimal one), plus the lab marker. With
        `server` it runs as the server user in the server directory. With `pipes`, stdin
        and stdout are pipes to us (stderr still goes to the log).
        """
        env = {**(env if env is not None else minimal_environment()), LAB_DIR_ENV: str(self.dir)}
        log = self.open_log(name)
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log,
                stderr=log if pipes else subprocess.STDOUT,
                text=pipes,
                start_new_session=True,  # own process group; no terminal Ctrl-C
                env=env,
                cwd=self.server_dir if server else self.dir,
                **(self.server_user if server else {}),
            )
        finally:
            os.close(log)
        self.popens[name] = popen
        self.record(name, popen.pid)
        self.save_state()  # recorded at once: `lab down` can stop it even if we get killed
        return popen

    def forget(self, name: str) -> None:
        """`name` ended as planned (a one-shot step, or a process stopped on purpose)."""
        self.processes.pop(name, None)
        self.popens.pop(name, None)

    def exited(self, name: str) -> bool:
        popen = self.popens.get(name)
        if popen is not None:
            return popen.poll() is not None
        return not process_alive(self.processes[name])  # e.g. a worker forked by the launcher

    def died(self, name: str, what: str) -> LabError:
        popen = self.popens.get(name)
        code = popen.returncode if popen is not None else "unknown"
        log = Path(self.processes[name].log)
        hint = ""
        tail = log_tail(log)
        if "pulp_rds_tests" in tail or "rds_tests" in tail:
            hint = (
                " The traceback points at the plugin (server_plugin/, package pulp_rds_tests): "
                "it failed to load, fix it and start again."
            )
        error_class = LabError
        if "already in use" in tail or "Connection in use" in tail:  # gunicorn says the latter
            hint = " A port it needed was taken meanwhile; start again (or choose the port)."
            error_class = PortTaken
        return error_class(
            f"The lab's {name} exited during start (exit code {code}) while the lab was "
            f"{what}.{hint} Nothing was left running. Last lines of its log "
            f"(full log: {log}):\n{tail}"
        )

    def run_step(self, name: str, argv: list[str], what: str, timeout: float, **kwargs) -> None:
        """Run a one-shot command to completion (as a tracked process, so it can be killed)."""
        popen = self.spawn(name, argv, **kwargs)
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LabError(
                f"The lab's {name} step did not finish within {timeout:.0f} s while {what}; "
                f"see its log {self.processes[name].log}."
            ) from None
        if popen.returncode != 0:
            raise self.died(name, what)
        self.forget(name)

    def wait_until(
        self, check: Callable[[], bool], names: list[str], what: str, interval: float = 0.1
    ) -> None:
        """Poll `check` until true; fail early if one of `names` exits meanwhile."""
        deadline = time.monotonic() + START_TIMEOUT
        if "worker-launcher" in self.popens:  # a broken plugin shows there first
            names = [*names, "worker-launcher"]
        while True:
            for name in names:
                if self.exited(name):
                    raise self.died(name, what)
            if check():
                return
            if time.monotonic() >= deadline:
                logs = ", ".join(self.processes[n].log for n in names)
                raise LabError(
                    f"The lab timed out after {START_TIMEOUT:.0f} s {what}. "
                    f"Nothing was left running. Logs: {logs}"
                )
            time.sleep(interval)

    def stop(self, name: str, first_signal: int) -> None:
        record = self.processes[name]
        self.forget(name)
        stop_process_groups([record.pgid], first_signal, SERVER_STOP_GRACE)
