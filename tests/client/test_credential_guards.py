"""Credentials go only where they belong: never inside a base URL (messages, reprs, run
files, requests), a warning before a password travels unencrypted to another machine,
run files private."""

from __future__ import annotations

import argparse
import asyncio
import os
import stat

import pytest

from rds_tui import cli, credentials
from rds_tui.api import PulpClient, ServerUnreachable
from rds_tui.credentials import Server, is_loopback, plain_http_auth_warning, resolve
from rds_tui.runs import Run, RunStore

from .clihelpers import login_options, run_cli
from .fakepulp import FakePulp

SECRET = "Zq7-url-canary"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(credentials, "_warned_plain_http", set())


def test_a_base_url_never_shows_its_password():
    client = PulpClient(f"https://admin:{SECRET}@[::1]:8443/")
    assert client.base_url == "https://[::1]:8443"
    assert SECRET not in repr(client)
    run = Run(api_root=f"https://admin:{SECRET}@pulp.example.com")
    assert run.api_root == "https://pulp.example.com"
    assert SECRET not in str(Server.of(run)) and SECRET not in repr(resolve(run=run))


def test_a_password_in_a_url_is_neither_shown_nor_sent(capsys):
    with FakePulp() as pulp:
        url = pulp.url.replace("://", f"://admin:{SECRET}@")

        async def read() -> None:
            async with PulpClient(url) as client:
                await client.catalog()

        asyncio.run(read())
        assert "Authorization" not in pulp.headers_seen[-1]  # httpx would send it as Basic auth
        port = pulp.port
    unreachable = f"http://admin:{SECRET}@127.0.0.1:{port}"

    async def fail() -> None:
        async with PulpClient(unreachable, timeout=5) as client:
            await client.catalog()

    with pytest.raises(ServerUnreachable) as caught:
        asyncio.run(fail())
    error = caught.value
    assert SECRET not in str(error) and SECRET not in f"{error.base_url} {error.url}"


@pytest.mark.parametrize(
    ("api_root", "warned"),
    [
        ("http://pulp.example.com", True),
        ("http://10.0.0.7:8080", True),
        ("https://pulp.example.com", False),
        ("http://localhost:24817", False),
        ("http://127.0.0.1:24817", False),
        ("http://[::1]:24817", False),
    ],
)
def test_the_warning_is_for_plain_http_to_another_machine(api_root, warned):
    assert (plain_http_auth_warning(api_root, "admin") is not None) is warned
    assert plain_http_auth_warning(api_root, None) is None  # no password, nothing to warn


def test_the_command_line_warns_once_on_stderr(capsys):
    args = argparse.Namespace(
        api_root="http://pulp.example.com", user="admin", password=None, profile=None
    )
    for _ in range(2):
        connection = cli.resolve_connection(args)
    err = capsys.readouterr().err
    assert err.count("unencrypted (http://)") == 1
    assert "http://pulp.example.com" in err and connection.username == "admin"


def test_no_warning_for_this_machine(capsys):
    with FakePulp(polls_to_finish=1) as pulp:
        assert is_loopback("127.0.0.1")
        code, _, err = run_cli(
            capsys, *login_options(pulp.url), "rds_connection_tests", "-t", "1", "--no-monitor"
        )
    assert code == cli.EXIT_OK, err
    assert "unencrypted" not in err


def test_run_files_are_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        store = RunStore(tmp_path / "data" / "rds-tui" / "runs")
        run = store.create(Run(api_root="https://pulp.example.com"))
        run.finished = True
        store.save(run)  # rewritten: still private
    finally:
        os.umask(previous)
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)
    path = store.directory / f"{run.id}.json"
    assert mode(path) == 0o600
    for directory in (store.directory, store.directory.parent, store.directory.parent.parent):
        assert mode(directory) == 0o700, directory
    assert [p.name for p in store.directory.iterdir()] == [path.name]  # no temporary left
