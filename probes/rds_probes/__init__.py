"""rds-probes: the RDS Proxy connection probes, on plain psycopg connections.

One copy for both callers: the Pulp plugin (pulp_rds_tests) runs them as Pulp tasks, the
client (rds-tui probe) runs them directly against a DSN. Nothing here imports Django.
"""

from .catalog import ACCEPTED_TEST_NAMES, CATALOG, FIX_TEST_NAMES, TEST_NAMES, TestSpec, get_spec
from .progress import ProgressRecord, ProgressSink
from .runner import ProbeAbandoned, ProbeOptions, run_probe
from .target import ProbeConfigError, ProbeTarget
from .watch import Lifeline
from .workloads import WORKLOADS

# The plugin's version: the two are released together (pulp-rds-tests pins this line).
__version__ = "0.1.0"

__all__ = [
    "ACCEPTED_TEST_NAMES",
    "CATALOG",
    "FIX_TEST_NAMES",
    "TEST_NAMES",
    "WORKLOADS",
    "Lifeline",
    "ProbeAbandoned",
    "ProbeConfigError",
    "ProbeOptions",
    "ProbeTarget",
    "ProgressRecord",
    "ProgressSink",
    "TestSpec",
    "get_spec",
    "run_probe",
]
