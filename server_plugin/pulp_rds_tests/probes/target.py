"""Where probes connect: DATABASES["default"] with RDS_CONNECTION_TESTS_DATABASE merged over it.

The probe target is registered as its own Django connection alias (so Django fills in
the same defaults and builds the same connection parameters as for Pulp's own
connections), but every probe connection is opened fresh and raw: no pool, no
`SET TIME ZONE`/`SET ROLE` from Django's connection setup, nothing on the wire except
what the pattern itself sends.
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import psycopg

# The keys of RDS_CONNECTION_TESTS_DATABASE that may override DATABASES["default"].
OVERRIDABLE_KEYS = ("HOST", "PORT", "NAME", "USER", "PASSWORD", "OPTIONS")
CONNECT_TIMEOUT_SECONDS = 10


class ProbeConfigError(Exception):
    """The probe target is misconfigured; the message says which setting and how to fix it."""


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


def merge_database_settings(default: Mapping, overrides: Mapping | None) -> dict:
    """DATABASES["default"] with the probe overrides applied (OPTIONS merged key by key)."""
    merged = copy.deepcopy(dict(default))
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise ProbeConfigError(
            "RDS_CONNECTION_TESTS_DATABASE must be a mapping of "
            f"{', '.join(OVERRIDABLE_KEYS)} (or None), not {type(overrides).__name__}."
        )
    for key, value in overrides.items():
        upper = str(key).upper()
        if upper not in OVERRIDABLE_KEYS:
            raise ProbeConfigError(
                f"RDS_CONNECTION_TESTS_DATABASE has an unknown key {key!r}; "
                f"allowed keys: {', '.join(OVERRIDABLE_KEYS)}."
            )
        if upper == "OPTIONS":
            if not isinstance(value, Mapping):
                raise ProbeConfigError(
                    "RDS_CONNECTION_TESTS_DATABASE['OPTIONS'] must be a mapping."
                )
            merged["OPTIONS"] = {**merged.get("OPTIONS", {}), **value}
        else:
            merged[upper] = value
    options = dict(merged.get("OPTIONS") or {})
    # A probe holds one dedicated connection: never a pool, never Django's role switch.
    options.pop("pool", None)
    options.pop("assume_role", None)
    merged["OPTIONS"] = options
    merged["CONN_MAX_AGE"] = 0
    merged["CONN_HEALTH_CHECKS"] = False
    return merged


def target_from_django(overrides: Mapping | None, alias: str) -> ProbeTarget:
    """Register `alias` as a Django connection for the probe target and describe it.

    Call `release_django_alias(alias)` when the probe is done.
    """
    from django.db import connections

    connections.settings[alias] = merge_database_settings(
        connections.settings["default"], overrides
    )
    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    return ProbeTarget(params, opener=lambda **kw: wrapper.get_new_connection(kw))


def release_django_alias(alias: str) -> None:
    from django.db import connections

    if alias in connections.settings:
        try:
            del connections[alias]
        except AttributeError:
            pass  # never used in this thread
        del connections.settings[alias]
