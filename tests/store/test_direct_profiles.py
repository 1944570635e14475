"""Profiles of kind direct (a PostgreSQL endpoint `rds-tui probe` connects to): the file,
`profiles add/list/show`, and a direct profile given where a Pulp server is needed."""

from __future__ import annotations

import io
import json
import tomllib

import pytest

from rds_tui.cli import EXIT_USAGE, main
from rds_tui.credentials import ConnectionFlags, CredentialError, Server, matching_profile, resolve
from rds_tui.profiles import Profile, ProfileError, ProfileFileError, ProfileStore, make_profile

SECRET = "hunter2-s3cret"
OLD_FILE = """\
[profiles.prod]
api_root = "https://pulp.example.com"
username = "admin"
password_env = "PULP_PROD_PASSWORD"
"""


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store() -> ProfileStore:
    return ProfileStore()


def test_an_old_file_reads_as_pulp_profiles_and_is_rewritten_as_it_was(store):
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(OLD_FILE)
    [prod] = store.list()
    assert prod.kind == "pulp" and prod.api_root == "https://pulp.example.com"
    store.upsert(Profile(name="lab-direct", kind="direct", dsn="postgresql://probe@h:6432/pulp"))
    written = tomllib.loads(store.path.read_text())["profiles"]
    assert written["prod"] == tomllib.loads(OLD_FILE)["profiles"]["prod"]  # no `kind` added
    assert written["lab-direct"] == {"kind": "direct", "dsn": "postgresql://probe@h:6432/pulp"}
    assert store.get("lab-direct").where() == "postgresql://probe@h:6432/pulp"


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('kind = "direct"', "needs exactly one of dsn"),
        ('kind = "direct"\ndsn = "host=h"\ndsn_env = "X"', "needs exactly one of dsn"),
        ('kind = "direct"\ndsn = "host=h"\napi_root = "https://p"', "api_root belong(s) to Pulp"),
        ('kind = "direct"\ndsn = "host=h"\nusername = "u"', "username belong(s) to Pulp"),
        ('api_root = "https://p"\ndsn = "host=h"', "dsn belong(s) to direct profiles"),
        ('kind = "direct"\ndsn = "mysql://h"', "not PostgreSQL's"),
        ('kind = "direct"\ndsn_env = "not a name"', "is not an environment variable name"),
        ('kind = "direct"\ndsn = "host=h"\ntime_unit_seconds = 0', "time_unit_seconds"),
        ('kind = "mysql"\ndsn = "host=h"', "kind"),
        ('username = "u"', "needs api_root"),
        (f'kind = "direct"\ndsn = "postgresql://probe:{SECRET}@h/pulp"', "holds a password"),
        (f'kind = "direct"\ndsn = "host=h password=\'{SECRET}\'"', "holds a password"),
    ],
)
def test_a_bad_direct_profile_in_the_file_is_named_and_never_overwritten(store, table, says):
    store.path.parent.mkdir(parents=True, exist_ok=True)
    text = f"[profiles.x]\n{table}\n"
    store.path.write_text(text)
    with pytest.raises(ProfileFileError) as caught:
        store.list()
    message = str(caught.value)
    assert "profile 'x'" in message and says in message
    assert SECRET not in message
    with pytest.raises(ProfileFileError):
        store.upsert(Profile(name="y", api_root="https://p"))
    assert store.path.read_text() == text


def test_time_unit_and_run_defaults_on_a_direct_profile():
    profile = make_profile(
        name="lab-direct", kind="direct", dsn_env="LAB_DSN", time_unit_seconds=1,
        expected_cutoff_seconds=3, default_tests=["session_idle"], default_duration=14,
    )  # fmt: skip
    assert profile.time_unit_seconds == 1
    assert profile.to_toml_table()["time_unit_seconds"] == 1
    assert profile.where() == "$LAB_DSN"
    assert Profile(name="p", api_root="https://p").time_unit_seconds == 60


# --- profiles add / list / show --------------------------------------------------------------


def test_add_list_show_a_direct_profile(capsys, store):
    code, out, err = run_cli(
        capsys, "profiles", "add", "lab-direct", "--dsn",
        "postgresql://probe@127.0.0.1:6432/pulp?sslmode=disable", "--password-env", "LAB_PW",
        "--time-unit", "1",
    )  # fmt: skip
    assert code == 0, err
    assert (
        "Saved profile lab-direct (postgresql://probe@127.0.0.1:6432/pulp?sslmode=disable)" in out
    )
    code, out, _ = run_cli(capsys, "profiles", "list")
    line = next(line for line in out.splitlines() if "lab-direct" in line)
    assert "direct" in line and "postgresql://probe@127.0.0.1:6432/pulp" in line
    assert "environment variable LAB_PW (NOT set)" in line
    code, out, _ = run_cli(capsys, "profiles", "show", "lab-direct", "--json")
    shown = json.loads(out)
    assert shown["kind"] == "direct" and shown["time_unit_seconds"] == 1
    assert shown["dsn"] == "postgresql://probe@127.0.0.1:6432/pulp?sslmode=disable"
    assert "api_root" not in shown and "username" not in shown and "password" not in shown
    code, out, _ = run_cli(capsys, "profiles", "show", "lab-direct")
    assert "kind" in out and "direct" in out and "api_root" not in out


def test_a_pulp_profile_shows_no_direct_fields(capsys):
    run_cli(capsys, "profiles", "add", "prod", "--api-root", "https://pulp.example.com")
    _, out, _ = run_cli(capsys, "profiles", "show", "prod", "--json")
    shown = json.loads(out)
    assert shown["kind"] == "pulp" and shown["api_root"] == "https://pulp.example.com"
    assert "dsn" not in shown and "time_unit_seconds" not in shown


def test_add_refuses_a_dsn_with_a_password_unless_asked_to_store_it(capsys, store):
    dsn = f"postgresql://probe:{SECRET}@db:5432/pulp"
    code, out, err = run_cli(capsys, "profiles", "add", "d", "--dsn", dsn)
    assert code == EXIT_USAGE
    assert "--dsn holds a password" in err and "--store-password" in err
    assert SECRET not in out + err
    assert not store.path.exists()

    code, out, err = run_cli(capsys, "profiles", "add", "d", "--dsn", dsn, "--store-password")
    assert code == 0, err
    assert SECRET not in out + err
    saved = tomllib.loads(store.path.read_text())["profiles"]["d"]
    assert saved == {"kind": "direct", "dsn": "postgresql://probe@db:5432/pulp", "password": SECRET}
    _, out, err = run_cli(capsys, "profiles", "show", "d")
    assert SECRET not in out + err and "stored in the profiles file" in out


def test_store_password_for_a_dsn_reads_it_from_stdin(capsys, store, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    code, out, err = run_cli(
        capsys, "profiles", "add", "d", "--dsn", "host=db user=probe", "--store-password"
    )
    assert code == 0, err
    assert store.get("d").password == SECRET and SECRET not in out + err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--dsn-env", "X", "--store-password"], "--store-password goes with --dsn"),
        (["--dsn", "host=h", "--user", "u"], "username belong(s) to Pulp profiles"),
        (["--dsn", "nonsense"], "--dsn: the DSN is neither"),
        ([], "give --api-root URL (a Pulp server) or --dsn URL"),
    ],
)
def test_add_errors_are_one_clear_line(capsys, argv, says):
    code, _, err = run_cli(capsys, "profiles", "add", "d", *argv)
    assert code == EXIT_USAGE
    assert says in err and "Traceback" not in err


def test_add_takes_one_of_api_root_dsn_and_dsn_env(capsys):
    with pytest.raises(SystemExit) as caught:
        run_cli(capsys, "profiles", "add", "d", "--dsn", "host=h", "--api-root", "https://p")
    assert caught.value.code == EXIT_USAGE
    assert "not allowed with argument" in capsys.readouterr().err


# --- a direct profile where a Pulp server is needed ----------------------------------------


@pytest.fixture
def with_both(store) -> ProfileStore:
    store.upsert(Profile(name="prod", api_root="https://pulp.example.com", username="admin"))
    store.upsert(Profile(name="lab-direct", kind="direct", dsn="postgresql://probe@h/pulp"))
    return store


def test_resolve_refuses_a_direct_profile_with_the_command_to_use(with_both):
    with pytest.raises(CredentialError) as caught:
        resolve(ConnectionFlags(profile="lab-direct"), profiles=with_both, environ={})
    assert str(caught.value) == (
        "profile lab-direct is a direct PostgreSQL profile; use "
        "`rds-tui probe --profile lab-direct`"
    )
    # ...and the Pulp profile beside it still resolves as before.
    assert resolve(ConnectionFlags(profile="prod"), profiles=with_both, environ={}).username == (
        "admin"
    )


def test_matching_a_server_skips_direct_profiles(with_both):
    server = Server("https://pulp.example.com")
    assert matching_profile(with_both, server).name == "prod"


@pytest.mark.parametrize(
    "argv",
    [
        ["rds_connection_tests", "--profile", "lab-direct", "-t", "1"],
        ["check", "--profile", "lab-direct"],
        ["verify", "--profile", "lab-direct", "--heartbeat", "10"],
    ],
)
def test_pulp_commands_given_a_direct_profile_say_to_use_probe(capsys, with_both, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == EXIT_USAGE, out + err
    assert "profile lab-direct is a direct PostgreSQL profile" in err
    assert "rds-tui probe --profile lab-direct" in err
    assert "Traceback" not in err


def test_require_pulp_passes_pulp_profiles_through():
    prod = Profile(name="prod", api_root="https://p")
    assert prod.require_pulp() is prod
    with pytest.raises(ProfileError):
        Profile(name="d", kind="direct", dsn="host=h").require_pulp()
