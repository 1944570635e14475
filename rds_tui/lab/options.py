"""What kind of lab to start (`rds-tui lab up` flags), validated before anything starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rds_tui.lab.errors import LabError

POOL_MODES = ("session", "transaction")
# What stands in for RDS Proxy in front of the probes: PgBouncer (the database server
# cuts idle sessions) or pgpool-II (the proxy itself cuts idle clients).
PROXIES = ("pgbouncer", "pgpool")


@dataclass(frozen=True)
class LabOptions:
    """What kind of lab to start. Timeouts are in seconds (the lab's time unit)."""

    workers: int = 8
    idle_timeout: int = 40
    idle_in_transaction_timeout: int = 30
    pool_mode: str = "session"
    proxy: str = "pgbouncer"
    # Pulp domains on (DOMAIN_ENABLED), with the default domain: task hrefs are
    # /pulp/default/api/v3/tasks/<id>/ as in pulp-service.
    domains: bool = False
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
        if self.proxy not in PROXIES:
            raise LabError(f"--proxy must be one of {', '.join(PROXIES)} (got {self.proxy!r}).")
        if self.proxy != "pgbouncer" and (self.pool_mode != "session" or self.pgbouncer_port):
            raise LabError(
                "--pool-mode and --pgbouncer-port configure PgBouncer; leave them out with "
                f"--proxy {self.proxy}."
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
