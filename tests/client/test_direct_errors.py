"""Connection failures of a direct run, worded for the user: every kind is checked
against what libpq really says when psycopg connects to a bad endpoint (a closed port, an
unresolvable host, a silent listener, a real PostgreSQL with TLS and pg_hba rules, a
listener that declines TLS), never against texts typed here."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFAULT_TEST_LAB

from rds_tui.direct.errors import ConnectionProblem, classify
from rds_tui.lab.binaries import find_binaries
from rds_tui.lab.processes import as_server_user, chown_to_server_user, server_dir_parent

psycopg = pytest.importorskip("psycopg")

HOST = "127.0.0.1"
SUPERUSER_PASSWORD = "Sup3rSecretPw"
PROBE_PASSWORD = "Pr0beSecretPw"
TLS_ONLY_PASSWORD = "Tl5OnlySecretPw"
SECRETS = (SUPERUSER_PASSWORD, PROBE_PASSWORD, TLS_ONLY_PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def attempt(secrets: tuple[str, ...] = SECRETS, **params: Any) -> ConnectionProblem:
    """Connect with psycopg as a direct run would; classify what libpq says."""
    params.setdefault("connect_timeout", 3)
    endpoint = f"{params.get('host')}:{params.get('port', 5432)}"
    try:
        psycopg.connect(**params).close()
    except psycopg.OperationalError as exc:
        return classify(str(exc), exc.sqlstate, endpoint, secrets)
    pytest.fail(f"the connection to {endpoint} succeeded; the test expected a failure")


# --- a PostgreSQL with TLS on, roles and pg_hba rules of our own ------------------------


def _self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[dict[str, Any]]:
    """A throw-away PostgreSQL on 127.0.0.1 with TLS: roles probe (any connection),
    tlsonly (pg_hba lets it in over TLS only) and tlsreject (rejected without TLS)."""
    binaries = find_binaries()
    directory = Path(tempfile.mkdtemp(prefix="rds-tui-direct-", dir=server_dir_parent()))
    data = directory / "data"
    port = free_port()
    process = None
    try:
        chown_to_server_user(directory)
        pwfile = directory / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        chown_to_server_user(pwfile)
        subprocess.run(
            [str(binaries.initdb), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, **as_server_user(),
        )  # fmt: skip
        key, cert = _self_signed_certificate(data, "server")
        for path in (key, cert):
            os.chmod(path, 0o600)
            chown_to_server_user(path)
        hba = data / "pg_hba.conf"
        hba.write_text(
            # No catch-all line: a role not named here has no pg_hba.conf entry.
            "hostssl all tlsonly,tlsreject 127.0.0.1/32 scram-sha-256\n"
            "hostnossl all tlsreject 127.0.0.1/32 reject\n"
            "host all probe,postgres 127.0.0.1/32 scram-sha-256\n"
        )
        process = subprocess.Popen(
            [str(binaries.postgres), "-D", str(data), "-c", f"listen_addresses={HOST}",
             "-c", f"port={port}", "-c", f"unix_socket_directories={directory}",
             "-c", "fsync=off", "-c", "ssl=on", "-c", f"ssl_cert_file={cert}",
             "-c", f"ssl_key_file={key}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_server_user(),
        )  # fmt: skip
        superuser = {"host": HOST, "port": port, "user": "postgres",
                     "password": SUPERUSER_PASSWORD, "dbname": "postgres"}  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(**superuser, autocommit=True, connect_timeout=2) as conn:
                    conn.execute(f"CREATE ROLE probe LOGIN PASSWORD '{PROBE_PASSWORD}'")
                    for role in ("tlsonly", "tlsreject"):
                        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{TLS_ONLY_PASSWORD}'")
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the test's PostgreSQL did not start", pytrace=False)
                time.sleep(0.2)
        yield {"host": HOST, "port": port, "directory": directory}
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


class _Listener:
    """A TCP listener that accepts and then answers with `reply` (None: never answers)."""

    def __init__(self, reply: bytes | None):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            if self.reply is not None:
                try:
                    conn.recv(8)  # the SSLRequest
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        for conn in [*self.held, self.sock]:
            conn.close()


@pytest.fixture
def listener():
    made: list[_Listener] = []

    def make(reply: bytes | None) -> _Listener:
        made.append(_Listener(reply))
        return made[-1]

    yield make
    for item in made:
        item.close()


# --- the kinds, from real libpq texts ------------------------------------------------------


def test_closed_port_reads_as_refused():
    problem = attempt(host=HOST, port=free_port(), user="probe", dbname="pulp")
    assert problem.kind == "refused"
    assert "Connection refused" in problem.detail
    assert "nothing listens there" in problem.message()


def test_unresolvable_host_reads_as_dns():
    problem = attempt(host="nonexistent.invalid", port=5432, user="probe", dbname="pulp")
    assert problem.kind == "dns"
    assert "nonexistent.invalid" in problem.detail
    assert "does not resolve" in problem.message()


def test_silent_listener_reads_as_timeout(listener):
    silent = listener(None)
    started = time.monotonic()
    problem = attempt(host=HOST, port=silent.port, user="probe", dbname="pulp",
                      sslmode="disable", connect_timeout=1)  # fmt: skip
    assert time.monotonic() - started < 10  # libpq gave up on its own (connect_timeout)
    assert problem.kind == "timeout"
    assert "timeout expired" in problem.detail
    assert "connect_timeout" in problem.message()


def test_a_server_without_tls_and_sslmode_require_reads_as_tls(listener):
    no_tls = listener(b"N")  # PostgreSQL's answer to SSLRequest when ssl=off
    problem = attempt(host=HOST, port=no_tls.port, user="probe", sslmode="require")
    assert problem.kind == "tls"
    assert "server does not support SSL, but SSL was required" in problem.detail
    assert "sslmode=disable" in problem.message()


def test_wrong_password_reads_as_authentication_without_the_password(tls_postgres):
    wrong = "Wr0ngButSecret"
    problem = attempt(
        (wrong,), host=HOST, port=tls_postgres["port"], user="probe", password=wrong,
        dbname="postgres",
    )  # fmt: skip
    assert problem.kind == "authentication"
    assert 'password authentication failed for user "probe"' in problem.detail
    assert wrong not in problem.message()
    assert "check the user and the password" in problem.message()


def test_no_password_reads_as_authentication(tls_postgres, monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    problem = attempt(host=HOST, port=tls_postgres["port"], user="probe", dbname="postgres")
    assert problem.kind == "authentication"
    assert "no password supplied" in problem.detail


def test_unknown_role_reads_as_authentication(tls_postgres):
    problem = attempt(host=HOST, port=tls_postgres["port"], user="nobody",
                      password=PROBE_PASSWORD, dbname="postgres")  # fmt: skip
    assert problem.kind == "authentication"
    assert PROBE_PASSWORD not in problem.message()


def test_missing_database_reads_as_no_database(tls_postgres):
    problem = attempt(host=HOST, port=tls_postgres["port"], user="probe",
                      password=PROBE_PASSWORD, dbname="nosuchdb")  # fmt: skip
    assert problem.kind == "no-database"
    assert '"nosuchdb" does not exist' in problem.detail
    assert "database name" in problem.message()


@pytest.mark.parametrize("role", ["tlsonly", "tlsreject"])
def test_tls_required_by_pg_hba_reads_as_tls(tls_postgres, role):
    problem = attempt(host=HOST, port=tls_postgres["port"], user=role,
                      password=TLS_ONLY_PASSWORD, dbname="postgres",
                      sslmode="disable")  # fmt: skip
    assert problem.kind == "tls"
    assert "no encryption" in problem.detail
    assert "use sslmode=require" in problem.message()
    # ...and with TLS the same role gets in: the fix the message gives works.
    with psycopg.connect(host=HOST, port=tls_postgres["port"], user=role,
                         password=TLS_ONLY_PASSWORD, dbname="postgres",
                         sslmode="require", connect_timeout=3):  # fmt: skip
        pass


def test_role_without_pg_hba_entry_reads_as_authentication(tls_postgres):
    # libpq tries TLS, then (sslmode=prefer) without: both refused, so TLS is not the fix.
    problem = attempt(host=HOST, port=tls_postgres["port"], user="nobody",
                      password=PROBE_PASSWORD, dbname="postgres")  # fmt: skip
    assert problem.kind == "authentication"
    assert "no pg_hba.conf entry" in problem.detail


def test_unverifiable_certificate_reads_as_tls(tls_postgres, tmp_path):
    _, other_ca = _self_signed_certificate(tmp_path, "someone-else")
    problem = attempt(host=HOST, port=tls_postgres["port"], user="probe",
                      password=PROBE_PASSWORD, dbname="postgres", sslmode="verify-ca",
                      sslrootcert=str(other_ca))  # fmt: skip
    assert problem.kind == "tls"
    assert "certificate verify failed" in problem.detail
    assert "not signed by the CA given" in problem.message()


def test_missing_root_certificate_reads_as_tls(tls_postgres, tmp_path):
    problem = attempt(host=HOST, port=tls_postgres["port"], user="probe",
                      password=PROBE_PASSWORD, dbname="postgres", sslmode="verify-full",
                      sslrootcert=str(tmp_path / "missing.crt"))  # fmt: skip
    assert problem.kind == "tls"
    assert "CA file named by sslrootcert is missing" in problem.message()


def test_the_right_credentials_over_tls_connect(tls_postgres):
    # The fixture's server is what the failures above say it is: a working endpoint.
    with psycopg.connect(host=HOST, port=tls_postgres["port"], user="probe",
                         password=PROBE_PASSWORD, dbname="postgres", sslmode="require",
                         connect_timeout=3) as conn:  # fmt: skip
        assert conn.info.pgconn.ssl_in_use


# --- what is shown ---------------------------------------------------------------------------


def test_message_is_one_clean_line_without_secrets():
    text = (
        'connection to server at "db" (10.0.0.1), port 5432 failed: FATAL:  password '
        'authentication failed for user "probe" hunter2\x1b]52;c;ZXZpbA==\x07\n'
        'connection to server at "db" (10.0.0.1), port 5432 failed: second attempt'
    )
    problem = classify(text, "28P01", "db:5432", ("hunter2",))
    line = problem.message()
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    assert "hunter2" not in line
    assert line.startswith("db:5432: authentication failed (FATAL:  password authentication")
    assert "second attempt" not in line


def test_a_password_inside_a_quoted_dsn_fragment_is_cut_in_every_spelling():
    text = "invalid connection option near password=p%40ss%2Fw or 'p@ss/w' or p@ss/w"
    problem = classify(text, None, "h:1", ("p@ss/w",))
    assert "p@ss" not in problem.message() and "p%40ss" not in problem.message()


def test_unknown_text_reads_as_other_with_its_detail():
    problem = classify("server closed the connection unexpectedly", None, "h:1")
    assert problem.kind == "other"
    assert "server closed the connection unexpectedly" in problem.message()


# --- through the lab's proxies (what a direct run meets behind one) ---------------------

# The same options as the other pgpool labs of the suite: one lab serves them all.
PGPOOL_LAB = {"workers": 7, "proxy": "pgpool", "idle_timeout": 6}


def through_proxy(lab: dict[str, Any], **params: Any) -> dict[str, Any]:
    proxy = lab[lab["proxy"]]
    base = {"host": proxy["host"], "port": proxy["port"],
            "dbname": lab["postgres"]["database"], "user": lab["probe"]["user"],
            "password": lab["probe"]["password"]}  # fmt: skip
    return {**base, **params}


@pytest.mark.lab
@pytest.mark.parametrize("proxy", ["pgbouncer", "pgpool"])
def test_proxy_texts_read_as_their_kinds(lab_factory, proxy):
    lab = lab_factory(**(PGPOOL_LAB if proxy == "pgpool" else DEFAULT_TEST_LAB))
    wrong_password = "Wr0ngThroughTheProxy"
    secrets = (lab["probe"]["password"], wrong_password)
    wrong = attempt(secrets, **through_proxy(lab, password=wrong_password))
    assert wrong.kind == "authentication", wrong.message()
    assert wrong_password not in wrong.message()
    missing = attempt(secrets, **through_proxy(lab, dbname="nosuchdb"))
    assert missing.kind == "no-database", missing.message()
    no_tls = attempt(secrets, **through_proxy(lab, sslmode="require"))
    assert no_tls.kind == "tls", no_tls.message()
    assert "sslmode=disable" in no_tls.message()
    # The same parameters with the right password and database do connect.
    with psycopg.connect(**through_proxy(lab), connect_timeout=5):
        pass
