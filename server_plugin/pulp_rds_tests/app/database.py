"""Where the plugin's probes connect: DATABASES["default"] with RDS_CONNECTION_TESTS_DATABASE
merged over it.

The probe target is registered as its own Django connection alias (so Django fills in
the same defaults and builds the same connection parameters as for Pulp's own
connections), but every probe connection is opened fresh and raw (rds_probes.ProbeTarget):
no pool, no `SET TIME ZONE`/`SET ROLE` from Django's connection setup.
"""

import copy
from collections.abc import Mapping

from rds_probes import ProbeConfigError, ProbeTarget

# The keys of RDS_CONNECTION_TESTS_DATABASE that may override DATABASES["default"].
OVERRIDABLE_KEYS = ("HOST", "PORT", "NAME", "USER", "PASSWORD", "OPTIONS")


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
