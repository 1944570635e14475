"""Facts shared by every part of the client, defined once.

Plain Python, no imports: the fast `--list` path imports it too.
"""

from __future__ import annotations

# Not a Pulp state: the client's record of a task the server no longer has (deleted,
# purged, or in another domain). Final: polling it again can only find nothing.
MISSING_STATE = "missing"

# Pulp's final task states (pulpcore's TASK_FINAL_STATES), plus "missing".
PULP_FINAL_STATES = frozenset({"completed", "failed", "canceled", "skipped"})
FINAL_TASK_STATES = PULP_FINAL_STATES | {MISSING_STATE}

# duration_minutes as the plugin validates it (in the server's minutes).
MIN_DURATION_MINUTES = 1
MAX_DURATION_MINUTES = 300
DEFAULT_DURATION_MINUTES = 50

# One "minute" of a production server, and the cutoff RDS Proxy was seen to apply
# (~40 min); a server's catalog or a profile overrides both.
DEFAULT_TIME_UNIT_SECONDS = 60.0
PRODUCTION_CUTOFF_SECONDS = 2400.0

# Seconds between status checks: the guide's headless default (a 50-minute run needs no
# more), and the dashboard's (its timers tick locally; polls bring deaths and endings).
HEADLESS_POLL_INTERVAL_SECONDS = 60.0
DASHBOARD_POLL_INTERVAL_SECONDS = 10.0
# A direct run's probes are in this process: reading them costs no request, so the
# dashboard reads them every second (a death shows at once, even on the lab's clock).
DIRECT_POLL_INTERVAL_SECONDS = 1.0
