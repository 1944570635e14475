"""The local lab: a throw-away PostgreSQL, PgBouncer and pulpcore with the plugin.

A real, time-scaled copy of a Pulp deployment behind a proxy, started as child
processes of this machine on free ports of 127.0.0.1. pulpcore's own connections go
straight to PostgreSQL; the probes' connections go through PgBouncer, and the probe
role carries PostgreSQL's idle timeouts (session-mode PgBouncer never cuts an idle
client that holds a server connection, see the proxy notes).

The state of a lab lives in `<lab dir>/lab.json` (mode 0600: it holds the generated
passwords), so `status` and `stop` work from any process. This module shells out to
the executables of the environment it runs in; it never imports pulpcore.

Public API: `LabOptions`, `start()`, `status()`, `stop()`, `default_lab_dir()`,
`LabError` (its `str()` is a user-readable paragraph); for checks: `processes_of_lab()`,
`listening_ports_of()`, `process_alive()`.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import glob
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "lab.json"
LOCK_FILE = "lab.lock"
HOST = "127.0.0.1"
API_PREFIX = "/pulp/"
STATUS_PATH = "/pulp/api/v3/status/"
PLUGIN_COMPONENT = "rds_tests"
ADMIN_USER = "admin"
SUPERUSER = "postgres"
PULP_ROLE = "pulp"
PROBE_ROLE = "probe"
PGBOUNCER_ADMIN = "pgbouncer_admin"
DATABASE = "pulp"
# The OS user that runs PostgreSQL and PgBouncer when we are root (both refuse root).
SERVER_OS_USER = "postgres"
POOL_MODES = ("session", "transaction")
# Set in the environment of every process of a lab: finds strays even without lab.json.
LAB_DIR_ENV = "RDS_TUI_LAB_DIR"

SERVER_DIR_MIN_FREE = 1 << 30  # bytes free in /dev/shm to hold a lab's cluster there
TEMPLATE_MAX_AGE = 14 * 24 * 3600  # seconds a cached cluster of another version is kept
START_TIMEOUT = 120.0  # seconds for any one component to become ready
MIGRATE_TIMEOUT = 600.0
WORKER_NAME_TEMPLATE = "lab-w{n}-{pid}@{hostname}"
WORKER_STOP_GRACE = 1.0  # a worker waits forever for its task on SIGTERM: then SIGKILL
SERVER_STOP_GRACE = 10.0

Progress = Callable[[str], None]


class LabError(Exception):
    """A lab problem explained for the user: what went wrong and how to fix it."""


class LabAlreadyRunning(LabError):
    pass


class PortTaken(LabError):
    """A component could not bind its port (taken between our check and its start)."""


@dataclass(frozen=True)
class LabOptions:
    """What kind of lab to start. Timeouts are in seconds (the lab's time unit)."""

    workers: int = 8
    idle_timeout: int = 40
    idle_in_transaction_timeout: int = 30
    pool_mode: str = "session"
    # Extra Pulp settings written into the settings file (name -> Python value).
    extra_settings: Mapping[str, Any] = field(default_factory=dict)
    # None: a free port is picked.
    api_port: int | None = None
    postgres_port: int | None = None
    pgbouncer_port: int | None = None

    def validate(self) -> None:
        if not 1 <= self.workers <= 64:
            raise LabError(f"--workers must be between 1 and 64 (got {self.workers}).")
        for name in ("idle_timeout", "idle_in_transaction_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise LabError(f"{flag} must be a whole number of seconds >= 1 (got {value!r}).")
        if self.pool_mode not in POOL_MODES:
            raise LabError(
                f"--pool-mode must be one of {', '.join(POOL_MODES)} (got {self.pool_mode!r})."
            )
        for name in self.extra_settings:
            if not (isinstance(name, str) and name.isidentifier() and name.isupper()):
                raise LabError(
                    f"Extra Pulp setting names must be upper-case identifiers (got {name!r})."
                )
        for name in ("api_port", "postgres_port", "pgbouncer_port"):
            port = getattr(self, name)
            if port is not None and not 1024 <= port <= 65535:
                flag = "--" + name.replace("_", "-")
                raise LabError(
                    f"{flag} {port} is not usable: choose a port between 1024 and 65535, "
                    "or leave it out to pick a free one."
                )


def default_lab_dir() -> Path:
    import platformdirs

    return platformdirs.user_state_path("rds-tui") / "lab"


def template_cache_dir() -> Path:
    """Where migrated database clusters are cached (RDS_TUI_LAB_CACHE overrides)."""
    override = os.environ.get("RDS_TUI_LAB_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_cache_path("rds-tui") / "lab-templates"


# --------------------------------------------------------------------------- binaries


# Where Debian puts the tools that are not on PATH (tests point these elsewhere).
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PGBOUNCER_DIRS = ("/usr/sbin",)


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    postgres: Path
    pgbouncer: Path
    pulpcore_manager: Path
    pulpcore_api: Path


def _find_tool(name: str, directories: list[Path]) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found).resolve()
    for directory in directories:
        if os.access(directory / name, os.X_OK):
            return directory / name
    return None


def _postgres_bin_dirs() -> list[Path]:
    """Debian's /usr/lib/postgresql/<major>/bin, newest major first."""
    dirs = [Path(p) for p in glob.glob(POSTGRES_BIN_GLOB)]
    return sorted(dirs, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)[::-1]


def find_binaries() -> Binaries:
    """The executables the lab runs, or a LabError naming the package to install."""
    missing: list[str] = []
    initdb = _find_tool("initdb", _postgres_bin_dirs())
    # postgres must match initdb's version: take it from the same directory.
    postgres = initdb.parent / "postgres" if initdb else None
    if initdb is None or postgres is None or not os.access(postgres, os.X_OK):
        missing.append(
            "the PostgreSQL server binaries (initdb, postgres) are not on PATH or in "
            f"{POSTGRES_BIN_GLOB}; they come with the Debian package `postgresql` "
            "(install: sudo apt-get install -y postgresql)"
        )
    pgbouncer = _find_tool("pgbouncer", [Path(d) for d in PGBOUNCER_DIRS])
    if pgbouncer is None:
        missing.append(
            f"`pgbouncer` is not on PATH or in {', '.join(PGBOUNCER_DIRS)}; it comes with the "
            "Debian package `pgbouncer` (install: sudo apt-get install -y pgbouncer)"
        )
    scripts = Path(sys.executable).parent
    pulp = {name: scripts / name for name in ("pulpcore-manager", "pulpcore-api")}
    absent = [name for name, path in pulp.items() if not os.access(path, os.X_OK)]
    if absent:
        missing.append(
            f"{', '.join(absent)} not found next to {sys.executable}; install pulpcore and the "
            "plugin into this environment (from the project: pip install -e '.[lab]' -e "
            "./server_plugin, or run ./dev lab)"
        )
    if missing:
        raise LabError("Cannot start the lab: " + "; ".join(missing) + ".")
    assert initdb and postgres and pgbouncer
    return Binaries(
        initdb=initdb,
        postgres=postgres,
        pgbouncer=pgbouncer,
        pulpcore_manager=pulp["pulpcore-manager"],
        pulpcore_api=pulp["pulpcore-api"],
    )


# --------------------------------------------------------------------------- processes


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


def process_alive(record: Mapping[str, Any]) -> bool:
    """The recorded process still runs (same pid AND same start time: no pid reuse)."""
    fields = _proc_stat(record["pid"])
    if not fields or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == record["start_time"]


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


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.rstrip().splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) if tail else "    (log is empty)"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


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


# --------------------------------------------------------------------------- the lab


def _as_server_user() -> dict[str, Any]:
    """Popen arguments that run PostgreSQL/PgBouncer as an unprivileged user when root."""
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


def _server_dir_prefix(directory: Path) -> str:
    """Names the lab's server directory after its lab dir (see processes_of_lab)."""
    return f"rds-tui-lab-{hashlib.sha256(str(directory).encode()).hexdigest()[:12]}-"


def _server_dir_parent() -> str:
    """/dev/shm when it is a writable tmpfs with room, else the temporary directory."""
    shm = Path("/dev/shm")
    with contextlib.suppress(OSError):
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > SERVER_DIR_MIN_FREE:
            return str(shm)
    return tempfile.gettempdir()


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _password() -> str:
    # Letters and digits only: safe unquoted in argv, ini, TOML and URLs (no leading "-").
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _pulpcore_environment(settings_file: Path) -> dict[str, str]:
    # PULP_* variables beat the settings file: keep the user's own out of the lab.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PULP_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["PULP_SETTINGS"] = str(settings_file)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _template_key(binaries: Binaries) -> str:
    """Changes whenever a cached migrated cluster could differ from a fresh one."""
    digest = hashlib.sha256()
    for dist in ("pulpcore", "pulp-rds-tests"):
        try:
            digest.update(f"{dist}={importlib.metadata.version(dist)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{dist}=missing\n".encode())
    # Every installed pulpcore plugin migrates its own tables into the same database.
    for plugin in sorted(importlib.metadata.entry_points(group="pulpcore.plugin"), key=str):
        dist = plugin.dist
        digest.update(f"plugin {plugin.name}={dist.version if dist else '?'}\n".encode())
    digest.update(f"postgres={binaries.postgres}\n".encode())
    spec = importlib.util.find_spec("pulp_rds_tests")
    if spec and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        for migration in sorted(root.rglob("migrations/*.py")):
            digest.update(str(migration.relative_to(root)).encode())
            digest.update(migration.read_bytes())
    return digest.hexdigest()[:16]


def _django_password_hash(password: str) -> str:
    # Matches Django's MD5PasswordHasher, which the lab settings put first (see below).
    salt = secrets.token_hex(11)
    return f"md5${salt}${hashlib.md5((salt + password).encode()).hexdigest()}"


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Starter:
    """One `start()` call: tracks what it started so any failure undoes all of it."""

    def __init__(
        self, directory: Path, options: LabOptions, progress: Progress, stop_with_owner: bool
    ):
        self.stop_with_owner = stop_with_owner
        self.dir = directory
        self.options = options
        self.progress = progress
        self.binaries = find_binaries()
        self.server_user = _as_server_user()
        self.logs = directory / "logs"
        self.processes: dict[str, dict[str, Any]] = {}
        self.popens: dict[str, subprocess.Popen] = {}
        self.server_dir: Path | None = None
        self.state: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------------

    def spawn(
        self, name: str, argv: list[str], *, server: bool = False, env=None, pipes: bool = False
    ) -> subprocess.Popen:
        """Start a tracked child in its own process group, output to logs/NAME.log.

        With `pipes`, stdin and stdout are pipes to us (stderr still goes to the log).
        """
        log_path = self.logs / f"{name}.log"
        # Every lab process carries the marker (inherited by forks and backends too).
        env = {**(os.environ if env is None else env), LAB_DIR_ENV: str(self.dir)}
        with open(log_path, "ab") as log:  # append: postgres restarts in a cold start
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
        self.popens[name] = popen
        self.processes[name] = {
            "pid": popen.pid,
            "pgid": popen.pid,
            "start_time": process_start_time(popen.pid) or 0,
            "log": str(log_path),
        }
        self.save_state()  # recorded at once: `lab down` can stop it even if we get killed
        return popen

    def exited(self, name: str) -> bool:
        popen = self.popens.get(name)
        if popen is not None:
            return popen.poll() is not None
        return not process_alive(self.processes[name])  # a worker forked by the launcher

    def died(self, name: str, what: str) -> LabError:
        popen = self.popens.get(name)
        code = popen.returncode if popen is not None else "unknown"
        log = Path(self.processes[name]["log"])
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
                f"see its log {self.processes[name]['log']}."
            ) from None
        if popen.returncode != 0:
            raise self.died(name, what)
        del self.processes[name]
        del self.popens[name]

    def wait_until(self, check: Callable[[], bool], names: list[str], what: str, timeout=None):
        deadline = time.monotonic() + (timeout or START_TIMEOUT)
        if "worker-launcher" in self.popens:  # a broken plugin shows there first
            names = [*names, "worker-launcher"]
        while True:
            for name in names:
                if self.exited(name):
                    raise self.died(name, what)
            if check():
                return
            if time.monotonic() >= deadline:
                logs = ", ".join(self.processes[n]["log"] for n in names)
                raise LabError(
                    f"The lab timed out after {timeout or START_TIMEOUT:.0f} s {what}. "
                    f"Nothing was left running. Logs: {logs}"
                )
            time.sleep(0.1)

    def connect_superuser(self, database: str = "postgres", timeout: int = 10):
        import psycopg

        pg = self.state["postgres"]
        return psycopg.connect(
            host=HOST,
            port=pg["port"],
            user=SUPERUSER,
            password=pg["superuser_password"],
            dbname=database,
            autocommit=True,
            connect_timeout=timeout,
        )

    def sql(self, statements: list[str], database: str = "postgres") -> None:
        import psycopg

        try:
            with self.connect_superuser(database) as conn:
                for statement in statements:
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise LabError(
                f"The lab could not set up its database ({type(exc).__name__}: {exc}). "
                f"Nothing was left running. PostgreSQL's log: {self.logs / 'postgres.log'}"
            ) from None

    def postgres_accepts(self) -> bool:
        import psycopg

        try:
            self.connect_superuser(timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def write_private(self, path: Path, text: str, server: bool = False) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if server:
            _chown_to_server_user(path)

    def save_state(self) -> None:
        self.state["processes"] = self.processes
        write_state(self.dir, self.state)

    # -- steps ----------------------------------------------------------------------

    def prepare(self) -> None:
        options = self.options
        for flag, port in (
            ("--api-port", options.api_port),
            ("--postgres-port", options.postgres_port),
            ("--pgbouncer-port", options.pgbouncer_port),
        ):
            if port is not None and not port_is_free(port):
                raise LabError(
                    f"Port {port} on {HOST} ({flag}) is already in use. Choose another port, "
                    f"or leave {flag} out to pick a free one."
                )
        self.logs.mkdir(exist_ok=True)
        for old_log in self.logs.glob("*.log"):
            old_log.unlink()
        # PostgreSQL's and PgBouncer's files go to a private (0700) directory in memory
        # when possible: copying the cached cluster to disk took seconds of kernel time
        # here, to tmpfs 0.2 s. As root it also has to be a place the postgres user can
        # reach (the lab dir may sit under /root, mode 0700). Removed on stop.
        self.server_dir = Path(
            tempfile.mkdtemp(prefix=_server_dir_prefix(self.dir), dir=_server_dir_parent())
        )
        _chown_to_server_user(self.server_dir)
        pulp_dir = self.dir / "pulp"
        shutil.rmtree(pulp_dir, ignore_errors=True)
        for sub in ("media", "static", "working", "upload-tmp"):
            (pulp_dir / sub).mkdir(parents=True)

        avoid = {p for p in (options.api_port, options.postgres_port, options.pgbouncer_port) if p}
        free = iter(pick_free_ports(3, avoid))
        self.state = {
            "version": 1,
            "state": "starting",
            "dir": str(self.dir),
            "server_dir": str(self.server_dir),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "started_by_pid": os.getpid(),
            "options": {
                **asdict(options),
                "extra_settings": dict(options.extra_settings),
            },
            "api_root": f"http://{HOST}:{options.api_port or next(free)}",
            "api_prefix": API_PREFIX,
            "username": ADMIN_USER,
            "password": _password(),
            "workers": options.workers,
            "idle_timeout": options.idle_timeout,
            "idle_in_transaction_timeout": options.idle_in_transaction_timeout,
            "pool_mode": options.pool_mode,
            "postgres": {
                "host": HOST,
                "port": options.postgres_port or next(free),
                "database": DATABASE,
                "superuser": SUPERUSER,
                "superuser_password": _password(),
                "pulp_user": PULP_ROLE,
                "pulp_password": _password(),
            },
            "pgbouncer": {
                "host": HOST,
                "port": options.pgbouncer_port or next(free),
                "database": DATABASE,
                "admin_user": PGBOUNCER_ADMIN,
                "admin_password": _password(),
                "pool_mode": options.pool_mode,
            },
            "probe": {"user": PROBE_ROLE, "password": _password()},
            "settings_file": str(self.dir / "pulp" / "settings.py"),
            "db_encryption_key": str(self.dir / "pulp" / "database_fields.symmetric.key"),
        }
        self.save_state()

    @property
    def data_dir(self) -> Path:
        assert self.server_dir
        return self.server_dir / "data"

    def start_postgres(self) -> None:
        pg = self.state["postgres"]
        argv = [
            str(self.binaries.postgres),
            "-D", str(self.data_dir),
            "-c", f"listen_addresses={HOST}",
            "-c", f"port={pg['port']}",
            "-c", f"unix_socket_directories={self.server_dir}",
            # Throw-away data: durability buys nothing here, speed does.
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ]  # fmt: skip
        self.spawn("postgres", argv, server=True)
        self.wait_until(self.postgres_accepts, ["postgres"], "waiting for PostgreSQL to accept")

    def stop_postgres(self) -> None:
        record = self.processes.pop("postgres")
        self.popens.pop("postgres")
        stop_process_groups([record["pgid"]], signal.SIGINT, SERVER_STOP_GRACE)

    def init_cluster(self) -> None:
        pg = self.state["postgres"]
        pwfile = self.server_dir / "superuser.pw"
        self.write_private(pwfile, pg["superuser_password"] + "\n", server=True)
        self.progress("creating the PostgreSQL cluster")
        argv = [
            str(self.binaries.initdb),
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--no-locale", "-E", "UTF8", "--no-sync",
        ]  # fmt: skip
        try:
            self.run_step("initdb", argv, "creating the PostgreSQL cluster", 120, server=True)
        finally:
            pwfile.unlink(missing_ok=True)

    def write_pulp_settings(self) -> None:
        state = self.state
        pulp_dir = self.dir / "pulp"
        key_file = Path(state["db_encryption_key"])
        if not key_file.exists():
            self.write_private(key_file, base64.urlsafe_b64encode(os.urandom(32)).decode())
        pg, pgb, probe = state["postgres"], state["pgbouncer"], state["probe"]
        settings: dict[str, Any] = {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "CONTENT_ORIGIN": state["api_root"],
            "DATABASES": {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": DATABASE,
                    "USER": PULP_ROLE,
                    "PASSWORD": pg["pulp_password"],
                    "HOST": HOST,
                    "PORT": pg["port"],
                }
            },
            "DB_ENCRYPTION_KEY": str(key_file),
            "MEDIA_ROOT": str(pulp_dir / "media"),
            "STATIC_ROOT": str(pulp_dir / "static"),
            "WORKING_DIRECTORY": str(pulp_dir / "working"),
            "FILE_UPLOAD_TEMP_DIR": str(pulp_dir / "upload-tmp"),
            "ANALYTICS": False,
            # A throw-away lab on 127.0.0.1 with a generated password: the salted-MD5
            # hasher (Django's advice for test suites) saves ~0.6 s of CPU that PBKDF2
            # costs on EVERY Basic-auth request, which polling clients make each second.
            "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
            "RDS_CONNECTION_TESTS_ENABLED": True,
            "RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS": 1,
            "RDS_CONNECTION_TESTS_EXPECTED_CUTOFF_SECONDS": state["idle_timeout"],
            "RDS_CONNECTION_TESTS_DATABASE": {
                "HOST": pgb["host"],
                "PORT": pgb["port"],
                "USER": probe["user"],
                "PASSWORD": probe["password"],
            },
            **dict(self.options.extra_settings),
        }
        lines = ["# Generated by rds-tui lab for this lab only; regenerated on every start."]
        lines += [f"{name} = {value!r}" for name, value in settings.items()]
        self.write_private(Path(state["settings_file"]), "\n".join(lines) + "\n")

    def migrate(self) -> None:
        pg = self.state["postgres"]
        self.sql(
            [
                f"CREATE ROLE {PULP_ROLE} LOGIN PASSWORD {_sql_literal(pg['pulp_password'])}",
                f"CREATE DATABASE {DATABASE} OWNER {PULP_ROLE}",
                f"CREATE ROLE {PROBE_ROLE} LOGIN IN ROLE {PULP_ROLE}",
            ]
        )
        env = _pulpcore_environment(Path(self.state["settings_file"]))
        self.progress("migrating the Pulp database (first start only, ~20-40 s)")
        manager = str(self.binaries.pulpcore_manager)
        self.run_step("migrate", [manager, "migrate", "--noinput"], "migrating the Pulp "
                      "database", MIGRATE_TIMEOUT, env=env)  # fmt: skip
        # createsuperuser reads the password from the environment, never from argv.
        env = {**env, "DJANGO_SUPERUSER_PASSWORD": _password()}
        argv = [manager, "createsuperuser", "--noinput", "--username", ADMIN_USER,
                "--email", "admin@localhost"]  # fmt: skip
        self.run_step("createsuperuser", argv, "creating the admin user", 300, env=env)

    def configure_roles(self) -> None:
        """Per-lab passwords and timeouts (also on a copy of a cached cluster)."""
        state = self.state
        pg, probe = state["postgres"], state["probe"]
        self.sql(
            [
                f"ALTER ROLE {SUPERUSER} PASSWORD {_sql_literal(pg['superuser_password'])}",
                f"ALTER ROLE {PULP_ROLE} PASSWORD {_sql_literal(pg['pulp_password'])}",
                f"ALTER ROLE {PROBE_ROLE} PASSWORD {_sql_literal(probe['password'])}",
                (
                    f"ALTER ROLE {PROBE_ROLE} IN DATABASE {DATABASE} SET idle_session_timeout"
                    f" = '{state['idle_timeout']}s'"
                ),
                (
                    f"ALTER ROLE {PROBE_ROLE} IN DATABASE {DATABASE} SET idle_in_transaction"
                    f"_session_timeout = '{state['idle_in_transaction_timeout']}s'"
                ),
            ]
        )
        admin_hash = _sql_literal(_django_password_hash(state["password"]))
        self.sql(
            [f"UPDATE auth_user SET password = {admin_hash} WHERE username = '{ADMIN_USER}'"],
            database=DATABASE,
        )

    def cache_template(self, cache_entry: Path, current_superuser_password: str) -> None:
        """Keep a copy of the freshly migrated cluster (postgres must be stopped)."""
        cache_entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_entry.parent))
        try:
            subprocess.run(["cp", "-a", str(self.data_dir), str(staging / "data")], check=True)
            shutil.copy2(self.state["db_encryption_key"], staging / "db_encryption.key")
            meta = {"superuser_password": current_superuser_password}
            self.write_private(staging / "meta.json", json.dumps(meta))
            try:
                staging.rename(cache_entry)
            except OSError:  # another lab cached the same template meanwhile
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def restore_template(self, cache_entry: Path) -> str:
        subprocess.run(["cp", "-a", str(cache_entry / "data"), str(self.data_dir)], check=True)
        shutil.copy2(cache_entry / "db_encryption.key", self.state["db_encryption_key"])
        os.chmod(self.state["db_encryption_key"], 0o600)
        return json.loads((cache_entry / "meta.json").read_text())["superuser_password"]

    def start_pgbouncer(self) -> None:
        state = self.state
        pgb, pg, probe = state["pgbouncer"], state["postgres"], state["probe"]
        assert self.server_dir
        userlist = self.server_dir / "userlist.txt"
        self.write_private(
            userlist,
            f'"{probe["user"]}" "{probe["password"]}"\n'
            f'"{pgb["admin_user"]}" "{pgb["admin_password"]}"\n',
            server=True,
        )
        ini = self.server_dir / "pgbouncer.ini"
        lines = [
            "[databases]",
            f"{DATABASE} = host={HOST} port={pg['port']} dbname={DATABASE}",
            "[pgbouncer]",
            f"listen_addr = {HOST}",
            f"listen_port = {pgb['port']}",
            f"unix_socket_dir = {self.server_dir}",
            "auth_type = scram-sha-256",
            f"auth_file = {userlist}",
            f"admin_users = {pgb['admin_user']}",
            f"stats_users = {pgb['admin_user']}",
            f"pool_mode = {state['pool_mode']}",
            "max_client_conn = 500",
            "default_pool_size = 100",
            # Some drivers send it; PgBouncer 1.18 would refuse the client otherwise.
            "ignore_startup_parameters = extra_float_digits",
        ]
        if state["pool_mode"] == "transaction":
            # In transaction mode an idle client holds no server connection, so
            # PgBouncer's own idle cutoff applies to it: the RDS Proxy stand-in.
            lines.append(f"client_idle_timeout = {state['idle_timeout']}")
        self.write_private(ini, "\n".join(lines) + "\n", server=True)
        self.spawn("pgbouncer", [str(self.binaries.pgbouncer), str(ini)], server=True)

        def accepts() -> bool:
            with socket.socket() as sock:
                sock.settimeout(1)
                return sock.connect_ex((HOST, pgb["port"])) == 0

        self.wait_until(accepts, ["pgbouncer"], "waiting for PgBouncer to listen")

    def spawn_worker_launcher(self) -> None:
        """Import pulpcore for the workers now, while the database is being prepared."""
        env = _pulpcore_environment(Path(self.state["settings_file"]))
        logs = [str(self.logs / f"worker-{n}.log") for n in range(1, self.state["workers"] + 1)]
        argv = [sys.executable, "-m", "rds_tui.lab_worker_launcher", WORKER_NAME_TEMPLATE, *logs]
        self.spawn("worker-launcher", argv, env=env, pipes=True)

    def fork_workers(self) -> list[str]:
        """Tell the launcher the database is ready; record the workers it forks."""
        launcher = self.popens["worker-launcher"]
        try:
            output, _ = launcher.communicate("go\n", timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise LabError(
                f"The lab's worker launcher did not start the workers within {START_TIMEOUT:.0f}"
                f" s; see {self.processes['worker-launcher']['log']}."
            ) from None
        if launcher.returncode != 0:
            raise self.died("worker-launcher", "loading pulpcore for the workers")
        del self.popens["worker-launcher"], self.processes["worker-launcher"]
        names = []
        for number, pid in enumerate(json.loads(output.strip().splitlines()[-1]), start=1):
            name = f"worker-{number}"
            self.processes[name] = {
                "pid": pid,
                "pgid": pid,
                "start_time": process_start_time(pid) or 0,
                "log": str(self.logs / f"{name}.log"),
            }
            names.append(name)
        self.save_state()
        return names

    def start_pulp(self) -> None:
        state = self.state
        env = _pulpcore_environment(Path(state["settings_file"]))
        port = state["api_root"].rsplit(":", 1)[1]
        self.spawn(
            "api",
            [str(self.binaries.pulpcore_api), "--bind", f"{HOST}:{port}", "--workers", "1",
             "--no-control-socket", "--timeout", "120"],
            env=env,
        )  # fmt: skip
        names = ["api", *self.fork_workers()]
        workers = f"{state['workers']} worker{'s' if state['workers'] != 1 else ''}"
        self.progress(f"waiting for the API and {workers}")
        self.wait_until(
            lambda: _api_status(state["api_root"]) is not None,
            names,
            "waiting for the Pulp API to answer",
        )
        pulp_status = _api_status(state["api_root"]) or {}
        components = {v.get("component") for v in pulp_status.get("versions", [])}
        if PLUGIN_COMPONENT not in components:
            raise LabError(
                f"The Pulp API answers but does not list the plugin `{PLUGIN_COMPONENT}` "
                "(pulp-rds-tests) among its components. Install it into this environment "
                "(pip install -e ./server_plugin) and start again. Nothing was left running."
            )
        self.wait_until(
            lambda: _workers_online(state["api_root"]) >= state["workers"],
            names,
            f"waiting for {workers} to come online",
        )

    # -- the whole start --------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.prepare()
        if self.stop_with_owner:
            owner = os.getpid()
            argv = [sys.executable, "-m", "rds_tui.lab", "--stop-when-gone", str(owner),
                    str(process_start_time(owner)), str(self.dir)]  # fmt: skip
            self.spawn("watchdog", argv)
        cache_entry = template_cache_dir() / _template_key(self.binaries)
        self.write_pulp_settings()
        self.spawn_worker_launcher()
        if (cache_entry / "meta.json").exists():
            self.progress("starting PostgreSQL from the cached migrated cluster")
            os.utime(cache_entry / "meta.json")  # marks it used (see _prune_templates)
            pg = self.state["postgres"]
            wanted = pg["superuser_password"]
            # Connect with the template's superuser password, then switch to this lab's.
            pg["superuser_password"] = self.restore_template(cache_entry)
            self.start_postgres()
            self.sql([f"ALTER ROLE {SUPERUSER} PASSWORD {_sql_literal(wanted)}"])
            pg["superuser_password"] = wanted
            self.configure_roles()
        else:
            self.init_cluster()
            self.progress("starting PostgreSQL")
            self.start_postgres()
            self.migrate()
            self.stop_postgres()
            try:
                self.cache_template(cache_entry, self.state["postgres"]["superuser_password"])
                _prune_templates(cache_entry)
            except (OSError, subprocess.CalledProcessError) as exc:
                # Only later starts get slower: this lab does not need the cache.
                self.progress(f"could not cache the migrated cluster in {cache_entry} ({exc})")
            self.start_postgres()
            self.configure_roles()
        self.progress("starting PgBouncer")
        self.start_pgbouncer()
        self.start_pulp()
        self.state["state"] = "running"
        self.save_state()
        return self.state

    def undo(self) -> None:
        _stop_records(self.processes)
        self.processes.clear()
        _kill_strays(self.dir)
        _remove_runtime(self.dir, str(self.server_dir) if self.server_dir else None)


def _prune_templates(keep: Path) -> None:
    """Drop cached clusters of other versions unused for TEMPLATE_MAX_AGE (~50 MB each)."""
    cutoff = time.time() - TEMPLATE_MAX_AGE
    for entry in keep.parent.iterdir():
        meta = entry / "meta.json"
        if entry != keep and meta.exists() and meta.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


# --------------------------------------------------------------------------- state


def state_path(directory: Path) -> Path:
    return directory / STATE_FILE


def write_state(directory: Path, state: Mapping[str, Any]) -> None:
    """Atomically replace lab.json (mode 0600: it holds passwords)."""
    fd, tmp = tempfile.mkstemp(prefix=".lab-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle, indent=2)
        os.replace(tmp, state_path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads(state_path(directory).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabError(
            f"The lab state file {state_path(directory)} cannot be read ({exc}). If no lab "
            "runs there, delete the file and start again."
        ) from None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One `lab up`/`lab down` at a time per lab directory."""
    with open(directory / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabAlreadyRunning(
                f"Another `rds-tui lab` command is starting or stopping the lab in {directory} "
                "right now. Wait for it to finish, then check with `rds-tui lab status"
                f" --dir {directory}`."
            ) from None
        yield


def _prepare_directory(directory: Path) -> Path:
    directory = directory.expanduser().absolute()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise LabError(
            f"The lab directory {directory} is not usable: {exc.strerror or exc}. Choose a "
            "writable directory with --dir, or fix its permissions."
        ) from None
    return directory


def _stop_records(processes: Mapping[str, Mapping[str, Any]]) -> None:
    """Stop recorded processes in dependency order, escalating to SIGKILL."""

    def ours(record: Mapping[str, Any]) -> bool:
        if record["pid"] == os.getpid():  # the watchdog runs this when the owner is gone
            return False
        # pids wrap quickly on a busy machine: a live pid with another start time is not
        # ours any more (and its group cannot be ours either).
        started = process_start_time(record["pid"])
        return started is None or started == record["start_time"]

    def groups(select: Callable[[str], bool]) -> list[int]:
        return [r["pgid"] for n, r in processes.items() if select(n) and ours(r)]

    # Pulp first (it holds database connections). SIGINT: gunicorn's quick shutdown, and
    # a worker's non-graceful one (SIGTERM makes it wait forever for a running task).
    stop_process_groups(
        groups(lambda n: n not in ("pgbouncer", "postgres")), signal.SIGINT, WORKER_STOP_GRACE
    )
    stop_process_groups(groups(lambda n: n == "pgbouncer"), signal.SIGTERM, SERVER_STOP_GRACE)
    # SIGQUIT = PostgreSQL's immediate shutdown: no shutdown checkpoint for throw-away data.
    stop_process_groups(groups(lambda n: n == "postgres"), signal.SIGQUIT, SERVER_STOP_GRACE)
    for record in processes.values():  # reap our own children (no zombies left behind)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(record["pid"], os.WNOHANG)


def _remove_runtime(directory: Path, server_dir: str | None) -> None:
    """Remove everything a stopped lab leaves except its logs."""
    if server_dir:
        shutil.rmtree(server_dir, ignore_errors=True)
    shutil.rmtree(directory / "pulp", ignore_errors=True)
    state_path(directory).unlink(missing_ok=True)


# --------------------------------------------------------------------------- status


def _api_status(api_root: str) -> dict[str, Any] | None:
    import httpx

    try:
        response = httpx.get(api_root + STATUS_PATH, timeout=3.0)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _workers_online(api_root: str) -> int:
    pulp_status = _api_status(api_root)
    return len(pulp_status.get("online_workers", [])) if pulp_status else 0


def _running_records(state: Mapping[str, Any]) -> dict[str, bool]:
    return {name: process_alive(rec) for name, rec in state.get("processes", {}).items()}


def status(directory: Path | None = None) -> dict[str, Any] | None:
    """The lab's state (lab.json plus live facts), or None when no lab is recorded there.

    Adds `running` (every recorded process alive and the API answering),
    `workers_online`, `processes_alive` and `plugin_loaded`.
    """
    directory = (directory or default_lab_dir()).expanduser().absolute()
    state = read_state(directory)
    if state is None:
        return None
    alive = _running_records(state)
    pulp_status = _api_status(state["api_root"]) if any(alive.values()) else None
    components = {v.get("component") for v in (pulp_status or {}).get("versions", [])}
    state = dict(state)
    state["processes_alive"] = alive
    state["workers_online"] = len((pulp_status or {}).get("online_workers", []))
    state["plugin_loaded"] = PLUGIN_COMPONENT in components
    state["running"] = (
        state.get("state") == "running" and bool(alive) and all(alive.values())
        and pulp_status is not None
    )  # fmt: skip
    return state


# --------------------------------------------------------------------------- start/stop


def _any_alive(state: Mapping[str, Any]) -> bool:
    return any(_running_records(state).values())


def start(
    directory: Path | None = None,
    options: LabOptions | None = None,
    *,
    progress: Progress | None = None,
    stop_with_owner: bool = False,
) -> dict[str, Any]:
    """Start a lab in `directory` and return its status once all workers are online.

    Raises LabError (a user-readable paragraph) and leaves nothing running on any
    failure, KeyboardInterrupt included. With `stop_with_owner`, a watchdog process
    stops the lab when this process ends without stopping it (killed, crashed).
    """
    options = options or LabOptions()
    options.validate()
    directory = _prepare_directory(directory or default_lab_dir())
    progress = progress or (lambda message: None)
    with _locked(directory):
        previous = read_state(directory)
        if previous is not None:
            if _any_alive(previous):
                raise LabAlreadyRunning(
                    f"A lab is already running in {directory} (API {previous.get('api_root')}, "
                    f"started {previous.get('started_at')}). Use it as it is, stop it first "
                    f"with `rds-tui lab down --dir {directory}`, or choose another --dir."
                )
            # A lab that died without `lab down` (machine reboot, kill -9): clear it.
            _remove_runtime(directory, previous.get("server_dir"))
        ports_chosen = any((options.api_port, options.postgres_port, options.pgbouncer_port))
        for attempt in (1, 2):
            starter = _Starter(directory, options, progress, stop_with_owner)
            try:
                starter.run()
                break
            except PortTaken:
                starter.undo()
                if ports_chosen or attempt == 2:
                    raise
                progress("a port was taken meanwhile; starting again on other free ports")
            except BaseException as exc:
                starter.undo()
                if isinstance(exc, (OSError, subprocess.CalledProcessError)):
                    raise LabError(
                        f"The lab could not start: {exc}. Nothing was left running; logs are "
                        f"in {starter.logs}."
                    ) from exc
                raise
    return status(directory) or starter.state


def stop(directory: Path | None = None) -> bool:
    """Stop the lab in `directory`. Returns False when no lab was recorded there."""
    directory = (directory or default_lab_dir()).expanduser().absolute()
    if not directory.is_dir():
        return False
    with _locked(directory):
        state = read_state(directory)
        if state is None:
            return False
        _stop_records(state.get("processes", {}))
        _kill_strays(directory)
        _remove_runtime(directory, state.get("server_dir"))
    return True


def _kill_strays(directory: Path, timeout: float = 5.0) -> None:
    """SIGKILL any process of this lab still alive (unrecorded: a crash mid-start) and
    wait until they are gone."""
    deadline = time.monotonic() + timeout
    while (strays := processes_of_lab(directory)) and time.monotonic() < deadline:
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def processes_of_lab(directory: Path) -> list[int]:
    """Live pids of this lab (needs /proc access): those carrying its marker in their
    environment, and those working in its server directory (PostgreSQL's children
    overwrite their environment with their process titles)."""
    directory = Path(directory).expanduser().absolute()
    marker = f"{LAB_DIR_ENV}={directory}".encode()
    server_dir_part = "/" + _server_dir_prefix(directory)
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


def _stop_when_gone(owner_pid: int, owner_start_time: int, directory: Path) -> None:
    """The watchdog: stop the lab once the process that started it has gone."""
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))  # stopped along with the lab
    owner = {"pid": owner_pid, "start_time": owner_start_time}
    while process_alive(owner):
        time.sleep(0.5)
    with contextlib.suppress(LabError):
        if stop(directory):
            print(f"the owner (pid {owner_pid}) is gone: stopped the lab in {directory}")


if __name__ == "__main__" and sys.argv[1:2] == ["--stop-when-gone"]:
    _stop_when_gone(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
