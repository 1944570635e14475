"""The plugin's settings as the endpoint and the tasks use them: the one place that resolves them."""

from django.conf import settings

# Intervals are never shorter than this, whatever the time unit...
ABSOLUTE_MIN_INTERVAL_SECONDS = 0.1
# ...nor than this share of a time unit: one second on a 60 s-unit server, so a probe
# sends at most about one statement a second (test 4's round of work is one statement).
MIN_INTERVAL_PER_TIME_UNIT = 1 / 60


def tests_enabled() -> bool:
    # DEBUG also enables, as the original endpoint did.
    return bool(settings.RDS_CONNECTION_TESTS_ENABLED or settings.DEBUG)


def time_unit_seconds() -> float:
    return settings.RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS


def min_interval_seconds() -> float:
    """The shortest heartbeat or notify interval this server accepts."""
    return max(ABSOLUTE_MIN_INTERVAL_SECONDS, time_unit_seconds() * MIN_INTERVAL_PER_TIME_UNIT)


def expected_cutoff_seconds() -> float:
    """The cutoff expected for an idle connection (the proxy's idle client timeout)."""
    return settings.RDS_CONNECTION_TESTS_EXPECTED_CUTOFF_SECONDS


def expected_in_transaction_cutoff_seconds() -> float:
    """The cutoff expected for a connection idle inside a transaction; unset: the idle one."""
    value = settings.RDS_CONNECTION_TESTS_EXPECTED_IN_TRANSACTION_CUTOFF_SECONDS
    return expected_cutoff_seconds() if value is None else value


def max_active() -> int:
    return settings.RDS_CONNECTION_TESTS_MAX_ACTIVE


def probe_database_overrides():
    """RDS_CONNECTION_TESTS_DATABASE: keys merged over DATABASES["default"] (None: none)."""
    return settings.RDS_CONNECTION_TESTS_DATABASE
