"""The lab's PostgreSQL: its cluster, its roles and their timeouts, and SQL as superuser.

Roles: `pulp` (owns the database; pulpcore connects directly, no idle cutoff) and
`probe` (the probes' role, reaching the database through the proxy). The probe role
carries PostgreSQL's idle timeouts: session-mode PgBouncer never cuts an idle client
that holds a server connection (see the proxy notes), so the database server does.
"""

from __future__ import annotations

import signal
from pathlib import Path

from rds_tui.lab.binaries import Binaries
from rds_tui.lab.errors import LabError
from rds_tui.lab.processes import Supervisor, write_private
from rds_tui.lab.state import DATABASE, HOST, PROBE_ROLE, PULP_ROLE, SUPERUSER


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Postgres:
    def __init__(self, supervisor: Supervisor, binaries: Binaries):
        self.supervisor = supervisor
        self.binaries = binaries

    @property
    def pg(self):
        return self.supervisor.state.postgres

    @property
    def data_dir(self) -> Path:
        return self.supervisor.server_dir / "data"

    def connect_superuser(self, database: str = "postgres", timeout: int = 10):
        import psycopg

        return psycopg.connect(
            host=HOST,
            port=self.pg.port,
            user=SUPERUSER,
            password=self.pg.superuser_password,
            dbname=database,
            autocommit=True,
            connect_timeout=timeout,
        )

    def sql(self, statements: list[str], database: str = "postgres") -> None:
        import psycopg

        try:
            with self.connect_superuser(database) as conn:
                for statement in statements:
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise LabError(
                f"The lab could not set up its database ({type(exc).__name__}: {exc}). "
                "Nothing was left running. PostgreSQL's log: "
                f"{self.supervisor.log_path('postgres')}"
            ) from None

    def accepts(self) -> bool:
        import psycopg

        try:
            self.connect_superuser(timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def init_cluster(self) -> None:
        pwfile = self.supervisor.server_dir / "superuser.pw"
        write_private(pwfile, self.pg.superuser_password + "\n", server=True)
        argv = [
            str(self.binaries.initdb),
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--no-locale", "-E", "UTF8", "--no-sync",
        ]  # fmt: skip
        try:
            self.supervisor.run_step(
                "initdb", argv, "creating the PostgreSQL cluster", 120, server=True
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        argv = [
            str(self.binaries.postgres),
            "-D", str(self.data_dir),
            "-c", f"listen_addresses={HOST}",
            "-c", f"port={self.pg.port}",
            "-c", f"unix_socket_directories={self.supervisor.server_dir}",
            # Throw-away data: durability buys nothing here, speed does.
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
            # Log lines in UTC whatever the machine's zone (tests read their timestamps).
            "-c", "log_timezone=UTC",
        ]  # fmt: skip
        self.supervisor.spawn("postgres", argv, server=True)
        self.supervisor.wait_until(self.accepts, ["postgres"], "waiting for PostgreSQL to accept")

    def stop(self) -> None:
        self.supervisor.stop("postgres", signal.SIGINT)

    def create_pulp_database(self) -> None:
        """The roles and the empty database of a new cluster (before Pulp migrates it)."""
        self.sql(
            [
                f"CREATE ROLE {PULP_ROLE} LOGIN PASSWORD {sql_literal(self.pg.pulp_password)}",
                f"CREATE DATABASE {DATABASE} OWNER {PULP_ROLE}",
                f"CREATE ROLE {PROBE_ROLE} LOGIN IN ROLE {PULP_ROLE}",
            ]
        )

    def start_copied_cluster(self, its_superuser_password: str) -> None:
        """Start a cluster copied from the cache; switch its superuser to this lab's password."""
        wanted = self.pg.superuser_password
        self.pg.superuser_password = its_superuser_password
        try:
            self.start()
            self.sql([f"ALTER ROLE {SUPERUSER} PASSWORD {sql_literal(wanted)}"])
        finally:
            self.pg.superuser_password = wanted

    def configure_roles(
        self, idle_timeout: int | None, idle_in_transaction_timeout: int | None
    ) -> None:
        """This lab's passwords, and the probe role's timeouts (also on a cached cluster).

        A timeout None: the database never cuts the probes that way (the proxy does).
        """
        state = self.supervisor.state
        idle = f"{idle_timeout}s" if idle_timeout else "0"
        in_transaction = f"{idle_in_transaction_timeout}s" if idle_in_transaction_timeout else "0"
        role_in_db = f"ALTER ROLE {PROBE_ROLE} IN DATABASE {DATABASE} SET"
        self.sql(
            [
                f"ALTER ROLE {SUPERUSER} PASSWORD {sql_literal(self.pg.superuser_password)}",
                f"ALTER ROLE {PULP_ROLE} PASSWORD {sql_literal(self.pg.pulp_password)}",
                f"ALTER ROLE {PROBE_ROLE} PASSWORD {sql_literal(state.probe.password)}",
                f"{role_in_db} idle_session_timeout = '{idle}'",
                f"{role_in_db} idle_in_transaction_session_timeout = '{in_transaction}'",
            ]
        )
