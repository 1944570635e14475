"""The lab's PgBouncer: the proxy in front of PostgreSQL for the probes' connections."""

from __future__ import annotations

from rds_tui.lab.processes import Supervisor, port_accepts, write_private
from rds_tui.lab.state import DATABASE, HOST, LabState


def config(state: LabState, userlist: str, socket_dir: str) -> str:
    """pgbouncer.ini for this lab."""
    pgb = state.pgbouncer
    assert pgb is not None
    lines = [
        "[databases]",
        f"{DATABASE} = host={HOST} port={state.postgres.port} dbname={DATABASE}",
        "[pgbouncer]",
        f"listen_addr = {HOST}",
        f"listen_port = {pgb.port}",
        f"unix_socket_dir = {socket_dir}",
        "auth_type = scram-sha-256",
        f"auth_file = {userlist}",
        f"admin_users = {pgb.admin_user}",
        f"stats_users = {pgb.admin_user}",
        f"pool_mode = {state.pool_mode}",
        "max_client_conn = 500",
        "default_pool_size = 100",
        # Some drivers send it; PgBouncer 1.18 would refuse the client otherwise.
        "ignore_startup_parameters = extra_float_digits",
    ]
    if state.pool_mode == "transaction":
        # In transaction mode an idle client holds no server connection, so
        # PgBouncer's own idle cutoff applies to it: the RDS Proxy stand-in.
        lines.append(f"client_idle_timeout = {state.idle_timeout}")
    return "\n".join(lines) + "\n"


def start(supervisor: Supervisor, executable: str) -> None:
    state, server_dir = supervisor.state, supervisor.server_dir
    pgb, probe = state.pgbouncer, state.probe
    assert pgb is not None
    userlist = server_dir / "userlist.txt"
    write_private(
        userlist,
        f'"{probe.user}" "{probe.password}"\n"{pgb.admin_user}" "{pgb.admin_password}"\n',
        server=True,
    )
    ini = server_dir / "pgbouncer.ini"
    write_private(ini, config(state, str(userlist), str(server_dir)), server=True)
    supervisor.spawn("pgbouncer", [executable, str(ini)], server=True)
    supervisor.wait_until(
        lambda: port_accepts(pgb.port), ["pgbouncer"], "waiting for PgBouncer to listen"
    )
