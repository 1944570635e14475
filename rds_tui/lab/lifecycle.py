"""Starting, inspecting and stopping a lab: the order of the steps, and undoing them.

A start prepares the directories and lab.json, then brings up PostgreSQL (from the
cache of migrated clusters when it can), the proxy, and pulpcore; any failure,
KeyboardInterrupt included, stops everything it started. One `lab up`/`lab down` at a
time per lab directory (a lock file).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rds_tui.lab import pgbouncer, pgpool, pulp, watchdog
from rds_tui.lab.binaries import find_binaries
from rds_tui.lab.errors import LabAlreadyRunning, LabError, PortTaken
from rds_tui.lab.options import LabOptions
from rds_tui.lab.postgres import Postgres
from rds_tui.lab.processes import (
    Supervisor,
    chown_to_server_user,
    kill_strays,
    make_private_dir,
    pick_free_ports,
    port_is_free,
    process_alive,
    server_dir_parent,
    server_dir_prefix,
    stop_records,
)
from rds_tui.lab.state import (
    HOST,
    LabState,
    LabStatus,
    PgBouncerState,
    PgpoolState,
    PostgresState,
    ProbeRole,
    default_lab_dir,
    new_password,
    read_state,
    state_path,
)
from rds_tui.lab.template_cache import TemplateCache

LOCK_FILE = "lab.lock"

Progress = Callable[[str], None]


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
        if not directory.exists():
            make_private_dir(directory)  # lab.json and the logs are nobody else's business
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise LabError(
            f"The lab directory {directory} is not usable: {exc.strerror or exc}. Choose a "
            "writable directory with --dir, or fix its permissions."
        ) from None
    return directory


def _remove_runtime(directory: Path, server_dir: str | None) -> None:
    """Remove everything a stopped lab leaves except its logs."""
    if server_dir:
        shutil.rmtree(server_dir, ignore_errors=True)
    shutil.rmtree(pulp.pulp_dir(directory), ignore_errors=True)
    state_path(directory).unlink(missing_ok=True)


def _new_state(directory: Path, server_dir: Path, options: LabOptions) -> LabState:
    avoid = {p for p in (options.api_port, options.postgres_port, options.pgbouncer_port) if p}
    free = iter(pick_free_ports(3, avoid))
    pulp_dir = pulp.pulp_dir(directory)
    proxy_port = options.pgbouncer_port or next(free)
    # pgpool-II cuts any idle client at its limit, inside a transaction too.
    proxy_cuts_transactions = options.proxy == "pgpool"
    return LabState(
        dir=str(directory),
        server_dir=str(server_dir),
        started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        started_by_pid=os.getpid(),
        options=options,
        api_root=f"http://{HOST}:{options.api_port or next(free)}",
        password=new_password(),
        workers=options.workers,
        idle_timeout=options.idle_timeout,
        idle_in_transaction_timeout=(
            options.idle_timeout if proxy_cuts_transactions else options.idle_in_transaction_timeout
        ),
        pool_mode=options.pool_mode,
        proxy=options.proxy,
        domains=options.domains,
        postgres=PostgresState(
            port=options.postgres_port or next(free),
            superuser_password=new_password(),
            pulp_password=new_password(),
        ),
        pgbouncer=(
            PgBouncerState(
                port=proxy_port, admin_password=new_password(), pool_mode=options.pool_mode
            )
            if options.proxy == "pgbouncer"
            else None
        ),
        pgpool=(
            PgpoolState(port=proxy_port, client_idle_limit=options.idle_timeout)
            if options.proxy == "pgpool"
            else None
        ),
        probe=ProbeRole(password=new_password()),
        settings_file=str(pulp_dir / "settings.py"),
        db_encryption_key=str(pulp_dir / "database_fields.symmetric.key"),
    )


class _Starter:
    """One `start()` attempt: tracks what it started so any failure undoes all of it."""

    def __init__(
        self, directory: Path, options: LabOptions, progress: Progress, stop_with_owner: bool
    ):
        self.dir = directory
        self.options = options
        self.progress = progress
        self.stop_with_owner = stop_with_owner
        self.binaries = find_binaries(options.proxy)
        self.logs = directory / "logs"
        self.supervisor: Supervisor | None = None
        self.pulp: pulp.Pulp | None = None

    def _check_chosen_ports(self) -> None:
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

    def _prepare(self) -> Supervisor:
        self._check_chosen_ports()
        make_private_dir(self.logs)
        for old_log in self.logs.glob("*.log"):
            old_log.unlink()
        # PostgreSQL's and the proxy's files go to a private (0700) directory in memory
        # when possible: copying the cached cluster to disk took seconds of kernel time
        # here, to tmpfs 0.2 s. As root it also has to be a place the postgres user can
        # reach (the lab dir may sit under /root, mode 0700). Removed on stop.
        server_dir = Path(
            tempfile.mkdtemp(prefix=server_dir_prefix(self.dir), dir=server_dir_parent())
        )
        chown_to_server_user(server_dir)
        shutil.rmtree(pulp.pulp_dir(self.dir), ignore_errors=True)
        self.supervisor = Supervisor(self.dir, _new_state(self.dir, server_dir, self.options),
                                     server_dir)  # fmt: skip
        self.supervisor.save_state()
        return self.supervisor

    def run(self) -> LabState:
        supervisor = self._prepare()
        if self.stop_with_owner:
            supervisor.spawn("watchdog", watchdog.argv(self.dir))
        self.pulp = pulp_ = pulp.Pulp(supervisor, self.binaries)
        pulp_.prepare_directories()
        pulp_.write_settings(dict(self.options.extra_settings))
        pulp_.spawn_worker_launcher()
        state = supervisor.state
        postgres = Postgres(supervisor, self.binaries)
        cache = TemplateCache(self.binaries)
        if cache.available():
            self.progress("starting PostgreSQL from the cached migrated cluster")
            template_password = cache.restore(postgres.data_dir, Path(state.db_encryption_key))
            postgres.start_copied_cluster(template_password)
        else:
            self.progress("creating the PostgreSQL cluster")
            postgres.init_cluster()
            self.progress("starting PostgreSQL")
            postgres.start()
            postgres.create_pulp_database()
            self.progress("migrating the Pulp database (first start only, ~20-40 s)")
            pulp_.migrate()
            postgres.stop()
            try:
                cache.store(postgres.data_dir, Path(state.db_encryption_key),
                            state.postgres.superuser_password)  # fmt: skip
            except (OSError, subprocess.CalledProcessError) as exc:
                # Only later starts get slower: this lab does not need the cache.
                self.progress(f"could not cache the migrated cluster in {cache.entry} ({exc})")
            postgres.start()
        if state.proxy == "pgpool":  # the proxy cuts: the database must not
            postgres.configure_roles(None, None)
        else:
            postgres.configure_roles(state.idle_timeout, state.idle_in_transaction_timeout)
        pulp_.set_admin_password(postgres)
        if state.proxy == "pgpool":
            self.progress("starting pgpool-II")
            pgpool.start(supervisor, str(self.binaries.proxy))
        else:
            self.progress("starting PgBouncer")
            pgbouncer.start(supervisor, str(self.binaries.proxy))
        workers = f"{state.workers} worker{'s' if state.workers != 1 else ''}"
        self.progress(f"waiting for the API and {workers}")
        pulp_.start()
        state.state = "running"
        supervisor.save_state()
        return state

    def close(self) -> None:
        if self.pulp is not None:
            self.pulp.close()

    def undo(self) -> None:
        self.close()
        if self.supervisor is not None:
            stop_records(self.supervisor.processes)
            self.supervisor.processes.clear()
        kill_strays(self.dir)
        server_dir = self.supervisor.server_dir if self.supervisor else None
        _remove_runtime(self.dir, str(server_dir) if server_dir else None)


def status(directory: Path | None = None) -> LabStatus | None:
    """The lab's record plus live facts, or None when no lab is recorded there."""
    directory = (directory or default_lab_dir()).expanduser().absolute()
    state = read_state(directory)
    if state is None:
        return None
    alive = {name: process_alive(record) for name, record in state.processes.items()}
    pulp_status = pulp.api_status(state.api_root) if any(alive.values()) else None
    versions = pulp.components(pulp_status)
    return LabStatus(
        **dict(state),
        processes_alive=alive,
        workers_online=pulp.workers_online(pulp_status),
        plugin_loaded=pulp.PLUGIN_COMPONENT in versions,
        pulpcore_version=versions.get("core"),
        running=(
            state.state == "running" and bool(alive) and all(alive.values())
            and pulp_status is not None
        ),
    )  # fmt: skip


def start(
    directory: Path | None = None,
    options: LabOptions | None = None,
    *,
    progress: Progress | None = None,
    stop_with_owner: bool = False,
) -> LabStatus:
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
            if any(process_alive(record) for record in previous.processes.values()):
                raise LabAlreadyRunning(
                    f"A lab is already running in {directory} (API {previous.api_root}, "
                    f"started {previous.started_at}). Use it as it is, stop it first "
                    f"with `rds-tui lab down --dir {directory}`, or choose another --dir."
                )
            # A lab that died without `lab down` (machine reboot, kill -9): clear it.
            _remove_runtime(directory, previous.server_dir)
        ports_chosen = any((options.api_port, options.postgres_port, options.pgbouncer_port))
        for attempt in (1, 2):
            starter = _Starter(directory, options, progress, stop_with_owner)
            try:
                starter.run()
                starter.close()
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
    lab_status = status(directory)
    assert lab_status is not None  # lab.json was written as "running" just above
    return lab_status


def stop(directory: Path | None = None) -> bool:
    """Stop the lab in `directory`. Returns False when no lab was recorded there."""
    directory = (directory or default_lab_dir()).expanduser().absolute()
    if not directory.is_dir():
        return False
    with _locked(directory):
        state = read_state(directory)
        if state is None:
            return False
        stop_records(state.processes)
        kill_strays(directory)
        _remove_runtime(directory, state.server_dir)
    return True
