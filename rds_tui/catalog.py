"""The connection tests as the client knows them, without asking a server: the guide's
seven, and the two fix patterns (tests 8 and 9) that are only run by name or by `verify`.

Used as the offline fallback of `rds_connection_tests --list`, to describe tests in the
dispatch output, and to fill in what the original pulp-service endpoint does not send
(it only has names and one-line descriptions). Plain Python on purpose: importing this
module must stay cheap (no pydantic, no httpx) so `--list` starts fast.
"""

from __future__ import annotations

from typing import NamedTuple


class BuiltinTest(NamedTuple):
    """One test of the catalog; `description` is the guide's one-liner, verbatim."""

    name: str
    title: str
    description: str
    purpose: str
    expected_outcome: str
    pinned_by_rds_proxy: bool
    # Holds a transaction open: the idle-in-transaction timeout, not the idle one, is
    # the cutoff to expect.
    in_transaction: bool = False


BUILTIN_CATALOG: tuple[BuiltinTest, ...] = (
    BuiltinTest(
        "test_1_idle_connection",
        "Idle connection",
        "Idle connection test (50 min) - baseline timeout test",
        "Baseline test for idle connection timeout",
        "Connection dies at ~40 minutes (IdleClientTimeout)",
        False,
    ),
    BuiltinTest(
        "test_2_active_heartbeat",
        "Active heartbeat",
        "Active heartbeat test (50 min) - periodic queries",
        "Test if periodic queries prevent timeout",
        "Connection stays alive for full duration",
        False,
    ),
    BuiltinTest(
        "test_3_long_transaction",
        "Long transaction",
        "Long transaction test (50 min) - idle transaction",
        "Test long-running idle transaction behavior",
        "May timeout due to idle_in_transaction_timeout",
        True,
        in_transaction=True,
    ),
    BuiltinTest(
        "test_4_transaction_with_work",
        "Transaction with active work",
        "Transaction with work test (50 min) - active transaction",
        "Test transaction with periodic queries",
        "Active work should prevent idle_in_transaction_timeout",
        True,
        in_transaction=True,
    ),
    BuiltinTest(
        "test_5_session_variable",
        "Session variable",
        "Session variable test (50 min) - connection pinning via SET",
        "Test connection pinning via SET TIMEZONE",
        "Connection pinned, may show different timeout behavior",
        True,
    ),
    BuiltinTest(
        "test_6_listen_notify",
        "LISTEN/NOTIFY",
        "LISTEN/NOTIFY test (50 min) - CRITICAL: real worker behavior",
        "Test how Pulp workers actually work - LISTEN connection",
        "Connection pinned, critical to understand timeout",
        True,
    ),
    BuiltinTest(
        "test_7_listen_with_activity",
        "LISTEN with activity",
        "LISTEN with activity test (50 min) - periodic notifications",
        "Test if LISTEN + periodic notifications keeps connection alive",
        "Shows whether notifications alone count as activity for the proxy",
        True,
    ),
)

# The fix patterns: never part of "all the tests" (--all, the picker's default view).
FIX_CATALOG: tuple[BuiltinTest, ...] = (
    BuiltinTest(
        "test_8_listen_with_heartbeat",
        "LISTEN with client heartbeat",
        "LISTEN with heartbeat test (50 min) - fix: SELECT 1 every interval",
        "Test if a client heartbeat keeps a LISTEN connection alive",
        "Stays alive if the heartbeat is shorter than the idle timeout",
        True,
    ),
    BuiltinTest(
        "test_9_tcp_keepalive",
        "Idle with TCP keepalives",
        "TCP keepalive test (50 min) - fix: keepalives every interval",
        "Test if TCP keepalives count as activity",
        "Dies at the idle timeout unless the proxy counts keepalives",
        False,
    ),
)

# The guide's seven, in its order: what --all runs.
TEST_NAMES: tuple[str, ...] = tuple(test.name for test in BUILTIN_CATALOG)
FIX_TEST_NAMES: tuple[str, ...] = tuple(test.name for test in FIX_CATALOG)
HEARTBEAT_FIX_TEST = "test_8_listen_with_heartbeat"
KEEPALIVE_FIX_TEST = "test_9_tcp_keepalive"
# The control a fix is measured against: LISTEN, idle (what Pulp's workers hold today).
CONTROL_TEST = "test_6_listen_notify"
# Every test this client knows, the seven first.
KNOWN_TEST_NAMES: tuple[str, ...] = TEST_NAMES + FIX_TEST_NAMES
_BY_NAME = {test.name: test for test in BUILTIN_CATALOG + FIX_CATALOG}


def get(name: str) -> BuiltinTest | None:
    """The built-in entry for `name`, or None for a test this client does not know."""
    return _BY_NAME.get(name)


def runs_in_transaction(name: str) -> bool:
    """True for the tests that hold a transaction open (tests 3 and 4)."""
    test = _BY_NAME.get(name)
    return test is not None and test.in_transaction


def resolve_name(text: str) -> str | None:
    """Map what a user typed to a test name: the full name, its number ("6"),
    or an unambiguous prefix ("test_6", "test_6_listen"). None when nothing or
    more than one test matches."""
    text = text.strip()
    if text in _BY_NAME:
        return text
    if text.isdigit():
        matches = [n for n in KNOWN_TEST_NAMES if n.startswith(f"test_{int(text)}_")]
    else:
        matches = [n for n in KNOWN_TEST_NAMES if n.startswith(text)]
    return matches[0] if len(matches) == 1 else None
