"""The preflight (rds_tui.service.preflight) and `rds-tui check`, which prints it.

Each failing check against the in-process MockPulp (the server decides, no timing), the
command's text, JSON and exit codes, and end to end against the lab: a ready lab, a
wrong password, a lab with the tests disabled."""

from __future__ import annotations

import json

import httpx
import pytest
from tui.mock_pulp import MockPulp

from rds_tui import cli
from rds_tui.api import PulpClient
from rds_tui.credentials import ResolvedConnection
from rds_tui.service import preflight as pf

from .clihelpers import login_options, run_cli

API_ROOT = "https://pulp.example.com"


def client_of(pulp: MockPulp, password: str | None = None) -> PulpClient:
    return PulpClient(
        API_ROOT,
        auth=(pulp.username, password or pulp.password),
        transport=httpx.MockTransport(pulp.handle),
    )


async def statuses(pulp: MockPulp, password: str | None = None) -> dict[str, str]:
    async with client_of(pulp, password) as client:
        result = await pf.preflight(client)
    return {check.name: check.status for check in result.checks}


async def test_a_ready_server_passes_every_check_with_its_facts():
    pulp = MockPulp(workers=3)
    async with client_of(pulp) as client:
        result = await pf.preflight(client)
    assert [check.name for check in result.checks] == list(pf.ORDER)
    assert result.ready and result.failed is None
    assert all(check.status == pf.OK for check in result.checks)
    assert result.check(pf.REACHABLE).facts == {"pulpcore_version": "3.123.1"}
    assert result.check(pf.AUTHENTICATED).facts["username"] == "admin"
    assert result.check(pf.PLUGIN).facts["plugin_version"] == "0.1.0"
    assert result.check(pf.WORKERS).facts == {"online": 3}


@pytest.mark.parametrize(
    ("breakage", "failed", "skipped"),
    [
        ({"gone": True}, pf.REACHABLE, [pf.AUTHENTICATED, pf.PLUGIN, pf.ENABLED, pf.WORKERS]),
        ({"password": "other"}, pf.AUTHENTICATED, [pf.PLUGIN, pf.ENABLED, pf.WORKERS]),
        ({"plugin_installed": False}, pf.PLUGIN, [pf.ENABLED, pf.WORKERS]),
        ({"enabled": False}, pf.ENABLED, []),
        ({"workers": 0}, pf.WORKERS, []),
    ],
)
async def test_each_failing_check_stops_what_depends_on_it(breakage, failed, skipped):
    pulp = MockPulp()
    password = breakage.pop("password", None)
    for key, value in breakage.items():
        setattr(pulp, key, value)
    result = await statuses(pulp, password)
    assert result[failed] == pf.FAILED
    assert [name for name, status in result.items() if status == pf.SKIPPED] == skipped
    assert [name for name, status in result.items() if status == pf.FAILED] == [failed]


async def test_an_older_pulpcore_without_the_login_endpoint_still_authenticates():
    pulp = MockPulp(login_endpoint=False)
    async with client_of(pulp) as client:
        result = await pf.preflight(client)
    assert result.ready
    assert result.check(pf.AUTHENTICATED).facts["username"] is None  # the server cannot say
    assert ("GET", "/pulp/api/v3/tasks/") in pulp.requests


async def test_a_client_that_cannot_be_set_up_is_one_failed_check(tmp_path):
    missing = str(tmp_path / "client.crt")
    result = await pf.preflight_with(lambda: PulpClient(API_ROOT, cert=missing), API_ROOT)
    assert not result.ready
    assert result.checks[0].name == pf.SETUP and result.checks[0].status == pf.FAILED
    assert result.checks[0].error.files == (missing,)
    assert all(check.status == pf.SKIPPED for check in result.checks[1:])


# --- the command ---------------------------------------------------------------------


@pytest.fixture
def pulp(monkeypatch) -> MockPulp:
    """A MockPulp that every client the CLI makes talks to."""
    server = MockPulp()
    original = ResolvedConnection.client

    def client(self, **options):
        return original(self, transport=httpx.MockTransport(server.handle), **options)

    monkeypatch.setattr(ResolvedConnection, "client", client)
    return server


def test_check_prints_each_check_and_exits_0_when_ready(capsys, pulp):
    code, out, err = run_cli(capsys, *login_options(API_ROOT, password="secret"), "check")
    assert code == cli.EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == f"Checking {API_ROOT} (credentials: flags)"
    assert lines[1].startswith("✓ Reachable") and lines[1].endswith("pulpcore 3.123.1")
    assert lines[2].startswith("✓ Authenticated") and lines[2].endswith("admin")
    assert lines[3].endswith("pulp-rds-tests 0.1.0")
    assert lines[5].startswith("✓ Workers online") and "3 online" in lines[5]
    assert lines[-1] == f"Ready: {API_ROOT} can run the tests."


def test_check_names_the_failed_check_with_the_command_lines_hint(capsys, pulp):
    code, out, err = run_cli(capsys, *login_options(API_ROOT, password="wrong"), "check")
    assert code == cli.EXIT_API
    failed = [line for line in out.splitlines() if line.startswith("✗")]
    assert len(failed) == 1 and failed[0].startswith("✗ Authenticated")
    assert "Authentication failed for user 'admin'" in failed[0]
    assert "--user/--password" in failed[0]  # the CLI's words, not the dashboard's
    assert "(e on Instances" not in out
    assert "…" in out and "Not ready: authenticated failed." in err
    assert "wrong" not in out.replace("Check the user", "")


def test_check_json_is_one_document(capsys, pulp):
    pulp.enabled = False
    code, out, _ = run_cli(capsys, *login_options(API_ROOT, password="secret"), "check", "--json")
    assert code == cli.EXIT_API
    document = json.loads(out)
    assert document["api_root"] == API_ROOT and document["ready"] is False
    checks = {check["name"]: check for check in document["checks"]}
    assert checks["enabled"]["status"] == "failed"
    assert checks["enabled"]["facts"] == {
        "enabled": False,
        "setting": "RDS_CONNECTION_TESTS_ENABLED",
    }
    assert checks["workers"]["status"] == "ok" and checks["workers"]["facts"]["online"] == 3


def test_check_json_carries_the_worded_error(capsys, pulp):
    pulp.gone = True
    code, out, _ = run_cli(capsys, *login_options(API_ROOT, password="secret"), "check", "--json")
    assert code == cli.EXIT_API
    reachable = json.loads(out)["checks"][0]
    assert reachable["status"] == "failed" and reachable["error_type"] == "ServerUnreachable"
    assert "Cannot reach https://pulp.example.com" in reachable["error"]
    assert "Check --api-root" in reachable["error"]


def test_check_a_saved_profile_says_whose_credentials_it_used(capsys, pulp):
    from rds_tui.profiles import Profile, ProfileStore

    store = ProfileStore()
    store.upsert(Profile(name="mocked", api_root=API_ROOT, username="admin", password="secret"))
    try:
        code, out, err = run_cli(capsys, "check", "--profile", "mocked")
    finally:
        store.remove("mocked")
    assert code == cli.EXIT_OK, err
    assert out.splitlines()[0].startswith(f"Checking {API_ROOT} (credentials: ")
    assert "mocked" in out.splitlines()[0]


def test_check_without_a_server_is_a_usage_error(capsys):
    code, out, err = run_cli(capsys, "check")
    assert code == cli.EXIT_USAGE and out == ""
    assert "no server given" in err and "--api-root" in err


# --- end to end against the lab --------------------------------------------------------


@pytest.mark.lab
def test_check_a_ready_lab(capsys, lab):
    code, out, err = run_cli(
        capsys, *login_options(lab["api_root"], lab["username"], lab["password"]), "check"
    )
    assert code == cli.EXIT_OK, out + err
    assert "✓ Workers online" in out and "8 online" in out
    assert out.count("✓") == 5
    assert "pulp-rds-tests" in out and f"pulpcore {lab['pulpcore_version']}" in out


@pytest.mark.lab
def test_check_a_wrong_password(capsys, lab):
    code, out, err = run_cli(
        capsys, *login_options(lab["api_root"], lab["username"], "not-the-password"), "check"
    )
    assert code == cli.EXIT_API
    failed = [line for line in out.splitlines() if line.startswith("✗")]
    assert len(failed) == 1 and failed[0].startswith("✗ Authenticated")
    assert f"Authentication failed for user '{lab['username']}'" in failed[0]
    assert "not-the-password" not in out + err


@pytest.mark.lab
def test_check_a_lab_with_the_tests_disabled(capsys, lab_factory):
    # The same lab as the CLI's tests-disabled test (one lab for both in a full run).
    lab = lab_factory(workers=1, extra_settings={"RDS_CONNECTION_TESTS_ENABLED": False})
    code, out, err = run_cli(
        capsys,
        *login_options(lab["api_root"], lab["username"], lab["password"]),
        "check",
        "--json",
    )
    assert code == cli.EXIT_API, err
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    # The catalog's `enabled` is the server's effective switch (the setting, or DEBUG,
    # which also enables the tests): False shows DEBUG did not turn them back on.
    assert checks["enabled"]["status"] == "failed"
    assert checks["enabled"]["facts"]["enabled"] is False
    assert "RDS_CONNECTION_TESTS_ENABLED is off" in checks["enabled"]["detail"]
    assert [checks[name]["status"] for name in ("reachable", "authenticated", "plugin")] == [
        "ok",
        "ok",
        "ok",
    ]
    assert checks["workers"]["facts"]["online"] == 1
