"""The typed record of one lab: `<lab dir>/lab.json`, and what `lab status --json` prints.

lab.json (mode 0600: it holds the generated passwords) is written as soon as anything
starts, so `status` and `down` work from any process. `LabStatus` adds the live facts
(processes alive, API answering, workers online). The JSON keys are a public interface
(README, tests, scripts): add keys, never rename or drop one.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from rds_tui.lab.errors import LabError
from rds_tui.lab.options import LabOptions

STATE_FILE = "lab.json"
HOST = "127.0.0.1"
API_PREFIX = "/pulp/"
ADMIN_USER = "admin"
SUPERUSER = "postgres"
PULP_ROLE = "pulp"
PROBE_ROLE = "probe"
PGBOUNCER_ADMIN = "pgbouncer_admin"
DATABASE = "pulp"
# A lab "minute": the plugin's time unit there, and the lab-direct profile's.
TIME_UNIT_SECONDS = 1


class _Record(BaseModel):
    # Mutable while a start fills it in; unknown keys of a newer lab.json are kept.
    model_config = ConfigDict(extra="allow")


class ProcessRecord(_Record):
    """One process the lab started (pid + start time: a reused pid is not ours)."""

    pid: int
    pgid: int
    start_time: int
    log: str


class PostgresState(_Record):
    host: str = HOST
    port: int
    database: str = DATABASE
    superuser: str = SUPERUSER
    superuser_password: str
    pulp_user: str = PULP_ROLE
    pulp_password: str


class PgBouncerState(_Record):
    host: str = HOST
    port: int
    database: str = DATABASE
    admin_user: str = PGBOUNCER_ADMIN
    admin_password: str
    pool_mode: str


class PgpoolState(_Record):
    host: str = HOST
    port: int
    # Seconds without a client message after which pgpool-II closes the client.
    client_idle_limit: int


class ProbeRole(_Record):
    """The role the probes' connections use (through the proxy)."""

    user: str = PROBE_ROLE
    password: str


class LabState(_Record):
    """lab.json: everything needed to use, inspect and stop one lab."""

    version: int = 1
    state: Literal["starting", "running"] = "starting"
    dir: str
    server_dir: str | None
    started_at: str
    started_by_pid: int
    options: LabOptions
    api_root: str
    api_prefix: str = API_PREFIX
    username: str = ADMIN_USER
    password: str
    workers: int
    idle_timeout: int
    idle_in_transaction_timeout: int
    pool_mode: str
    # The proxy in front of the probes: "pgbouncer" or "pgpool" (its section below).
    proxy: Literal["pgbouncer", "pgpool"] = "pgbouncer"
    # Pulp domains enabled (API paths and task hrefs under /pulp/default/api/v3/).
    domains: bool = False
    postgres: PostgresState
    pgbouncer: PgBouncerState | None = None
    pgpool: PgpoolState | None = None
    probe: ProbeRole
    settings_file: str
    db_encryption_key: str
    processes: dict[str, ProcessRecord] = {}

    @property
    def api_port(self) -> int:
        return int(self.api_root.rsplit(":", 1)[1])

    @property
    def proxy_endpoint(self) -> tuple[str, int]:
        """Where the probes connect: the proxy's host and port."""
        proxy = self.pgpool if self.proxy == "pgpool" else self.pgbouncer
        assert proxy is not None
        return proxy.host, proxy.port

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the keys `lab status --json` prints)."""
        return self.model_dump(mode="json")


class LabStatus(LabState):
    """A lab's record plus what is true right now."""

    processes_alive: dict[str, bool]
    workers_online: int
    plugin_loaded: bool
    pulpcore_version: str | None = None
    # Every recorded process alive and the API answering.
    running: bool


def new_password() -> str:
    # Letters and digits only: safe unquoted in argv, ini, TOML and URLs (no leading "-").
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def default_lab_dir() -> Path:
    import platformdirs

    return platformdirs.user_state_path("rds-tui") / "lab"


def state_path(directory: Path) -> Path:
    return directory / STATE_FILE


def write_state(directory: Path, state: LabState) -> None:
    """Atomically replace lab.json (mode 0600: it holds passwords)."""
    fd, tmp = tempfile.mkstemp(prefix=".lab-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(state.to_json(), handle, indent=2)
        os.replace(tmp, state_path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(directory: Path) -> LabState | None:
    path = state_path(directory)
    try:
        return LabState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a lab record of this version"
        raise LabError(
            f"The lab state file {path} cannot be read ({reason}). If no lab runs there, "
            "delete the file and start again."
        ) from None
