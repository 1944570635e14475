"""The local lab: a throw-away PostgreSQL, a proxy and pulpcore with the plugin.

A real, time-scaled copy of a Pulp deployment behind a proxy, started as child
processes of this machine on free ports of 127.0.0.1. pulpcore's own connections go
straight to PostgreSQL; the probes' connections go through the proxy. With PgBouncer
(the default) the probe role carries PostgreSQL's idle timeouts (session-mode PgBouncer
never cuts an idle client that holds a server connection, see the proxy notes); with
pgpool-II the proxy itself cuts idle clients and the database's timeouts are off.

One job per module:
  options         LabOptions: what kind of lab to start, validated
  state           the typed record in `<lab dir>/lab.json` and `lab status --json`
  binaries        finding PostgreSQL, PgBouncer and pulpcore's executables
  processes       supervision: tracked process groups, /proc, ports, private files
  postgres        the cluster, its roles and timeouts, SQL as superuser
  template_cache  migrated clusters kept for warm starts
  pgbouncer       PgBouncer's configuration and start
  pgpool          pgpool-II's configuration and start
  pulp            pulpcore's settings, migration, API and workers (worker_launcher)
  watchdog        stops a lab whose owner died
  lifecycle       start / status / stop: the order of the steps and their undoing

Public API: `LabOptions`, `start()`, `status()` (both return a `LabStatus`; its
`to_json()` is what `lab status --json` prints), `stop()`, `default_lab_dir()`,
`LabError` (its `str()` is a user-readable paragraph); for checks:
`processes_of_lab()`, `listening_ports_of()`, `process_alive()`.
"""

from __future__ import annotations

from rds_tui.lab.errors import LabAlreadyRunning, LabError, PortTaken
from rds_tui.lab.lifecycle import start, status, stop
from rds_tui.lab.options import POOL_MODES, LabOptions
from rds_tui.lab.processes import listening_ports_of, process_alive, processes_of_lab
from rds_tui.lab.state import LabState, LabStatus, default_lab_dir

__all__ = [
    "POOL_MODES",
    "LabAlreadyRunning",
    "LabError",
    "LabOptions",
    "LabState",
    "LabStatus",
    "PortTaken",
    "default_lab_dir",
    "listening_ports_of",
    "process_alive",
    "processes_of_lab",
    "start",
    "status",
    "stop",
]
