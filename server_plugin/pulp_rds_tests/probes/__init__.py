"""The connection probes: psycopg and Django connections, nothing of HTTP."""

from .catalog import ACCEPTED_TEST_NAMES, CATALOG, FIX_TEST_NAMES, TEST_NAMES, TestSpec, get_spec
from .progress import ProgressSink
from .runner import ProbeAbandoned, ProbeOptions, run_probe
from .target import (
    ProbeConfigError,
    ProbeTarget,
    merge_database_settings,
    release_django_alias,
    target_from_django,
)
from .watch import Lifeline

__all__ = [
    "ACCEPTED_TEST_NAMES",
    "CATALOG",
    "FIX_TEST_NAMES",
    "TEST_NAMES",
    "Lifeline",
    "ProbeAbandoned",
    "ProbeConfigError",
    "ProbeOptions",
    "ProbeTarget",
    "ProgressSink",
    "TestSpec",
    "get_spec",
    "merge_database_settings",
    "release_django_alias",
    "run_probe",
    "target_from_django",
]
