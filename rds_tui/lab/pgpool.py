"""The lab's pgpool-II (`lab up --proxy pgpool`): a proxy that cuts idle clients itself.

pgpool-II's `client_idle_limit` closes a client connection that sent nothing for the
limit even while pgpool holds its server connection (LISTEN, SET, an open
transaction): the closest stand-in here for RDS Proxy's IdleClientTimeout on a pinned
session. The client sees a bare close (no ErrorResponse, no SQLSTATE). pgpool checks
about once a second, so a cut lands between the limit and the limit + 1 s.
"""

from __future__ import annotations

from rds_tui.lab.processes import Supervisor, port_accepts, write_private
from rds_tui.lab.state import HOST, LabState

# Client connections pgpool accepts at once (one pre-forked child each): the seven
# probes, test 7's sender and some room.
CHILDREN = 32


def config(state: LabState, socket_dir: str) -> str:
    """pgpool.conf for this lab: one backend in raw mode, no pcp over TCP, no watchdog."""
    assert state.pgpool is not None
    settings = {
        "backend_clustering_mode": "'raw'",
        "listen_addresses": f"'{HOST}'",
        "port": state.pgpool.port,
        "socket_dir": f"'{socket_dir}'",
        "pcp_listen_addresses": "''",  # pcp on its UNIX socket only: no port to collide on
        "pcp_socket_dir": f"'{socket_dir}'",
        "wd_ipc_socket_dir": f"'{socket_dir}'",
        "pid_file_name": f"'{socket_dir}/pgpool.pid'",
        "logdir": f"'{socket_dir}'",
        "log_destination": "'stderr'",
        "backend_hostname0": f"'{HOST}'",
        "backend_port0": state.postgres.port,
        "backend_flag0": "'DISALLOW_TO_FAILOVER'",
        "enable_pool_hba": "on",
        "pool_passwd": "'pool_passwd'",
        "num_init_children": CHILDREN,
        "max_pool": 1,
        "connection_cache": "on",
        "client_idle_limit": state.pgpool.client_idle_limit,
        "load_balance_mode": "off",
        "health_check_period": 0,
        "sr_check_period": 0,
        "failover_on_backend_error": "off",
        "use_watchdog": "off",
    }
    return "".join(f"{name} = {value}\n" for name, value in settings.items())


def start(supervisor: Supervisor, executable: str) -> None:
    state, server_dir = supervisor.state, supervisor.server_dir
    assert state.pgpool is not None
    conf = server_dir / "pgpool.conf"
    hba = server_dir / "pool_hba.conf"
    write_private(conf, config(state, str(server_dir)), server=True)
    # SCRAM on both sides: pgpool needs the probe's password in clear (pool_passwd TEXT).
    write_private(hba, f"host all all {HOST}/32 scram-sha-256\n", server=True)
    write_private(
        server_dir / "pool_passwd", f"{state.probe.user}:TEXT{state.probe.password}\n", server=True
    )
    argv = [executable, "-n", "-f", str(conf), "-a", str(hba), "-F", "/dev/null"]
    supervisor.spawn("pgpool", argv, server=True)
    supervisor.wait_until(
        lambda: port_accepts(state.pgpool.port), ["pgpool"], "waiting for pgpool-II to listen"
    )
