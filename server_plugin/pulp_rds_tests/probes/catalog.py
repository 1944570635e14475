"""The seven connection patterns as users see them: names, texts and expectations.

The names and the one-line descriptions are the original endpoint's (the remote trigger
guide shows them verbatim); clients and the original command-line tool rely on them.
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
)

TEST_NAMES: tuple[str, ...] = tuple(spec.name for spec in CATALOG)
_BY_NAME = {spec.name: spec for spec in CATALOG}


def get_spec(name: str) -> TestSpec:
    """The spec of a known test name (KeyError for an unknown one)."""
    return _BY_NAME[name]
