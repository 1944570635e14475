"""TLS against a real HTTPS server with a private CA: verification on (default), a CA
bundle, verification off, and client-certificate authentication (mTLS)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest

# A dev requirement: the TLS tests must run wherever the suite runs, never skip.
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rds_tui import cli

from .clihelpers import GUIDE_LIST, login_options, run_cli
from .fakepulp import FakePulp


def _issue(name: str, issuer_key, issuer_name, *, ca: bool, ip: str | None = None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


def _write(directory: Path, stem: str, key, cert) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _issue("rds-tui test CA", None, None, ca=True)
    server_key, server_cert = _issue("127.0.0.1", ca_key, ca_cert.subject, ca=False, ip="127.0.0.1")
    client_key, client_cert = _issue("admin", ca_key, ca_cert.subject, ca=False)
    ca_path, _ = _write(directory, "ca", ca_key, ca_cert)
    server_crt, server_key_path = _write(directory, "server", server_key, server_cert)
    client_crt, client_key_path = _write(directory, "client", client_key, client_cert)
    return {
        "ca": ca_path,
        "server_crt": server_crt,
        "server_key": server_key_path,
        "client_crt": client_crt,
        "client_key": client_key_path,
    }


def server_context(pki, *, require_client_cert: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server_crt"], pki["server_key"])
    if require_client_cert:
        context.load_verify_locations(pki["ca"])
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def test_untrusted_certificate_is_a_tls_error(capsys, pki):
    with FakePulp(tls=server_context(pki, require_client_cert=False)) as pulp:
        url = pulp.url
        code, _, err = run_cli(
            capsys,
            *login_options(url),
            "rds_connection_tests",
            "-t",
            "1",
        )
    assert code == cli.EXIT_API
    assert f"TLS handshake with {url} failed" in err
    assert "certificate verify failed" in err and "--ca-bundle" in err
    assert not pulp.tasks


def test_ca_bundle_and_no_verify(capsys, pki):
    with FakePulp(tls=server_context(pki, require_client_cert=False)) as pulp:
        code, out, err = run_cli(
            capsys,
            "--api-root",
            pulp.url,
            "--ca-bundle",
            str(pki["ca"]),
            "rds_connection_tests",
            "--list",
        )
        assert code == 0 and out == GUIDE_LIST and err == ""  # from the server, no fallback
        code, out, err = run_cli(
            capsys, "--api-root", pulp.url, "--no-verify-ssl", "rds_connection_tests", "--list"
        )
        assert code == 0 and out == GUIDE_LIST
        assert "verification is disabled" in err and "built-in" not in err


def test_client_certificate_authenticates(capsys, pki):
    with FakePulp(tls=server_context(pki, require_client_cert=True)) as pulp:
        code, out, err = run_cli(
            capsys,
            "--api-root",
            pulp.url,
            "--cert",
            str(pki["client_crt"]),
            "--key",
            str(pki["client_key"]),
            "--ca-bundle",
            str(pki["ca"]),
            "rds_connection_tests",
            "-t",
            "test_1_idle_connection",
            "--poll-interval",
            "0.05",
        )
        assert code == cli.EXIT_OK, err
        assert "✓ All tasks completed!" in out
        assert all("Authorization" not in headers for headers in pulp.headers_seen)
        # Without the certificate the server refuses the handshake.
        code, _, err = run_cli(
            capsys,
            *login_options(pulp.url),
            "--ca-bundle",
            str(pki["ca"]),
            "rds_connection_tests",
            "-t",
            "1",
        )
        assert code == cli.EXIT_API
        assert "client certificate" in err and "--cert" in err


def test_missing_certificate_file_is_a_usage_error(capsys, tmp_path):
    code, _, err = run_cli(
        capsys,
        "--api-root",
        "https://pulp.example.com",
        "--cert",
        str(tmp_path / "nope.crt"),
        "rds_connection_tests",
        "-t",
        "1",
    )
    assert code == cli.EXIT_USAGE and "nope.crt: no such file" in err
