"""Where probes connect: psycopg keyword arguments, and an opener that makes connections.

The plugin builds the target from Django's settings (pulp_rds_tests.app.database), the
client from a DSN. Either way every probe connection is opened fresh and raw: no pool,
nothing on the wire except what the pattern itself sends.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

CONNECT_TIMEOUT_SECONDS = 10


class ProbeConfigError(ValueError):
    """The probe target or options are misconfigured; the message says which setting and
    how to fix it."""


@dataclass
class ProbeTarget:
    """Connection parameters of the probe target (psycopg keyword arguments)."""

    params: dict
    opener: Callable[..., psycopg.Connection] = field(default=psycopg.connect, repr=False)

    def __post_init__(self):
        self.params = dict(self.params)
        # A probe must see exactly its own traffic: one plain connection, no automatic
        # prepared statements (they break PgBouncer's transaction mode), statements run
        # one by one as the pattern sends them (BEGIN/COMMIT are explicit).
        self.params["prepare_threshold"] = None
        self.params["autocommit"] = True
        self.params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)

    def __repr__(self) -> str:
        return f"ProbeTarget({self.describe()!r})"

    def connect(self, application_name: str, **extra) -> psycopg.Connection:
        """A fresh connection; `extra` adds libpq parameters (e.g. test 9's keepalives)."""
        return self.opener(**{**self.params, **extra, "application_name": application_name})

    def describe(self) -> dict:
        """Host, port, database and user: what a result may show (never the password)."""
        port = self.params.get("port")
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        return {
            "host": self.params.get("host") or "local socket",
            "port": port or 5432,
            "dbname": self.params.get("dbname"),
            "user": self.params.get("user"),
        }

    def secrets(self) -> list[str]:
        """Values that must never appear in a result or an error message."""
        password = self.params.get("password")
        return [str(password)] if password else []
