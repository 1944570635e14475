"""The connection patterns as users see them: names, texts and expectations.

The seven are the original endpoint's (the remote trigger guide shows their names and
one-line descriptions verbatim; clients and the original command-line tool rely on them).
Two fix patterns follow them: they test the candidate fixes (a client heartbeat on a
LISTEN connection, TCP keepalives) and are never part of "all the tests".
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TestSpec:
    __test__ = False  # not a pytest test class
    name: str
    number: int
    # The original result's `test` value.
    title: str
    # The guide's one-liner, shown by `--list` and in `descriptions`.
    description: str
    tells_you: str
    expected_outcome: str
    # Whether AWS RDS Proxy pins a connection that behaves like this pattern
    # (SET and LISTEN pin; a transaction holds its backend only until COMMIT).
    proxy_pins: bool
    # A fix pattern (tests 8 and 9): accepted by POST, listed apart from the guide's seven.
    fix_pattern: bool = False


CATALOG: tuple[TestSpec, ...] = (
    TestSpec(
        name="test_1_idle_connection",
        number=1,
        title="Test 1 - Django Idle Connection",
        description="Idle connection test (50 min) - baseline timeout test",
        tells_you="The proxy's idle client timeout: how long a connection that sends "
        "nothing survives.",
        expected_outcome="Dies at the proxy's idle client timeout (~40 minutes on RDS Proxy).",
        proxy_pins=False,
    ),
    TestSpec(
        name="test_2_active_heartbeat",
        number=2,
        title="Test 2 - Active Heartbeat",
        description="Active heartbeat test (50 min) - periodic queries",
        tells_you="Whether periodic queries keep a connection alive, and whether the proxy "
        "multiplexes it (a changing backend pid).",
        expected_outcome="Stays alive for the full duration.",
        proxy_pins=False,
    ),
    TestSpec(
        name="test_3_long_transaction",
        number=3,
        title="Test 3 - Long Transaction",
        description="Long transaction test (50 min) - idle transaction",
        tells_you="What ends a transaction that holds a row lock and then sits idle.",
        expected_outcome="May die at idle_in_transaction_session_timeout (or the proxy's "
        "idle timeout, whichever is shorter).",
        proxy_pins=False,
    ),
    TestSpec(
        name="test_4_transaction_with_work",
        number=4,
        title="Test 4 - Transaction with Active Work",
        description="Transaction with work test (50 min) - active transaction",
        tells_you="Whether queries inside a long transaction keep it and its connection alive.",
        expected_outcome="Stays alive: the work resets the idle-in-transaction timer.",
        proxy_pins=False,
    ),
    TestSpec(
        name="test_5_session_variable",
        number=5,
        title="Test 5 - Session Variable (SET TIMEZONE)",
        description="Session variable test (50 min) - connection pinning via SET",
        tells_you="How a connection pinned by SET is treated, and whether the session "
        "setting survives.",
        expected_outcome="Pinned; dies at the idle client timeout if the proxy applies it "
        "to pinned connections.",
        proxy_pins=True,
    ),
    TestSpec(
        name="test_6_listen_notify",
        number=6,
        title="Test 6 - LISTEN/NOTIFY",
        description="LISTEN/NOTIFY test (50 min) - CRITICAL: real worker behavior",
        tells_you="What happens to a LISTENing connection that receives nothing: exactly "
        "what Pulp's workers hold.",
        expected_outcome="Pinned; the critical case: its time of death is what cuts Pulp "
        "workers off.",
        proxy_pins=True,
    ),
    TestSpec(
        name="test_7_listen_with_activity",
        number=7,
        title="Test 7 - LISTEN with Activity",
        description="LISTEN with activity test (50 min) - periodic notifications",
        tells_you="Whether incoming notifications count as activity, and whether the proxy "
        "delivers them at all.",
        expected_outcome="Pinned; notifications arrive until it dies. If they are not "
        "activity it dies like test 6.",
        proxy_pins=True,
    ),
    TestSpec(
        name="test_8_listen_with_heartbeat",
        number=8,
        title="Test 8 - LISTEN with Client Heartbeat",
        description="LISTEN with heartbeat test (50 min) - fix: SELECT 1 every interval",
        tells_you="Whether a LISTENing connection survives when its client sends SELECT 1 "
        "every heartbeat_interval_seconds: the change Pulp's workers would make.",
        expected_outcome="Pinned; stays alive if client statements count as activity and "
        "the heartbeat is shorter than the idle timeout.",
        proxy_pins=True,
        fix_pattern=True,
    ),
    TestSpec(
        name="test_9_tcp_keepalive",
        number=9,
        title="Test 9 - Idle with TCP Keepalives",
        description="TCP keepalive test (50 min) - fix: keepalives every interval",
        tells_you="Whether TCP keepalives (libpq keepalives_idle/interval/count) count as "
        "activity: the cheapest change, in Django's DATABASES OPTIONS.",
        expected_outcome="Dies at the idle timeout unless the proxy counts keepalives as "
        "activity (PostgreSQL, PgBouncer and pgpool do not).",
        proxy_pins=False,
        fix_pattern=True,
    ),
)

# The guide's seven: the GET's available_tests and what "all the tests" means.
TEST_NAMES: tuple[str, ...] = tuple(spec.name for spec in CATALOG if not spec.fix_pattern)
# The fix patterns, run on purpose (by name), never by "all".
FIX_TEST_NAMES: tuple[str, ...] = tuple(spec.name for spec in CATALOG if spec.fix_pattern)
# Every name a POST accepts.
ACCEPTED_TEST_NAMES: tuple[str, ...] = TEST_NAMES + FIX_TEST_NAMES
_BY_NAME = {spec.name: spec for spec in CATALOG}


def get_spec(name: str) -> TestSpec:
    """The spec of a known test name (KeyError for an unknown one)."""
    return _BY_NAME[name]
