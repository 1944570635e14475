"""Plugin defaults; pulpcore loads them before the user's settings (PULP_<NAME> overrides)."""

# Off unless enabled explicitly (DEBUG also enables, as the original endpoint did).
RDS_CONNECTION_TESTS_ENABLED = False
# Keys merged over DATABASES["default"] for the probes' own connections.
# None: the same target as Pulp itself, i.e. through the same proxy.
RDS_CONNECTION_TESTS_DATABASE = None
# Length of one of the guide's "minutes"; the lab sets 1 so every duration scales.
RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS = 60
# What clients draw as the expected cutoff (RDS Proxy cut at ~40 minutes).
RDS_CONNECTION_TESTS_EXPECTED_CUTOFF_SECONDS = 2400
# The same for a connection idle inside a transaction (tests 3 and 4; PostgreSQL's
# idle_in_transaction_session_timeout may be shorter). None: the idle cutoff above.
RDS_CONNECTION_TESTS_EXPECTED_IN_TRANSACTION_CUTOFF_SECONDS = None
# The most RDS test tasks waiting or running at once.
RDS_CONNECTION_TESTS_MAX_ACTIVE = 7
