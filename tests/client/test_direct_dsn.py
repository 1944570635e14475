"""Where a direct run connects: DSNs read as libpq reads them (libpq's own parser, through
psycopg, is the reference), shown without the password, and the one order that decides
a direct run's credentials."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rds_tui.direct.dsn import DirectTarget, DsnError, parse_dsn, resolve_target
from rds_tui.profiles import Profile

psycopg = pytest.importorskip("psycopg")
from psycopg.conninfo import conninfo_to_dict

SECRET = "s3cr@t/pw:x"  # '@', '/' and ':' need percent-encoding in a URL

VALID_DSNS = [
    "postgresql://probe:s3cr%40t%2Fpw%3Ax@127.0.0.1:6432/pulp",
    "postgres://probe@db.example.com/pulp?sslmode=require&connect_timeout=5",
    "postgresql://[::1]:5433/db",
    "postgresql://[2001:db8::7]/db?application_name=rds%20probe",
    "postgresql://db.example.com",
    "postgresql:///pulp?host=/var/run/postgresql",
    "postgresql://%70robe@h:1/d%62",
    "host=db port=6432 user=probe dbname=pulp",
    "host = db   port=6432 password='it is' user='a b'",
    r"host=db password='quote\'and\\backslash' sslmode=verify-full sslrootcert=/ca.pem",
    "dbname=pulp",
]


def libpq(text: str) -> dict[str, str]:
    return {key: str(value) for key, value in conninfo_to_dict(text).items()}


@pytest.mark.parametrize("text", VALID_DSNS)
def test_parse_reads_what_libpq_reads(text):
    assert parse_dsn(text) == libpq(text)


@pytest.mark.parametrize("text", VALID_DSNS)
def test_display_is_a_dsn_libpq_reads_back_to_the_same_params_without_password(text):
    params = parse_dsn(text)
    shown = DirectTarget(params, "--dsn").display()
    expected = {key: value for key, value in params.items() if key != "password"}
    assert libpq(shown) == expected
    assert shown.startswith("postgresql://")


def test_display_endpoint_and_secrets_of_a_url_with_an_encoded_password():
    target = DirectTarget(parse_dsn("postgresql://probe:s3cr%40t%2Fpw%3Ax@127.0.0.1:6432/pulp"),
                          "--dsn")  # fmt: skip
    assert target.params["password"] == SECRET
    assert target.display() == "postgresql://probe@127.0.0.1:6432/pulp"
    assert target.endpoint() == "127.0.0.1:6432"
    assert target.secrets() == (SECRET,)
    for text in (repr(target), str(target), target.display()):
        assert SECRET not in text and "s3cr%40t" not in text and "s3cr" not in text


def test_endpoint_defaults_and_ipv6():
    assert DirectTarget(parse_dsn("postgresql://[::1]/d"), "x").endpoint() == "[::1]:5432"
    assert DirectTarget(parse_dsn("dbname=d"), "x").endpoint() == "local socket:5432"
    assert DirectTarget(parse_dsn("host=/run/pg port=6"), "x").endpoint() == "/run/pg:6"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the DSN is empty"),
        ("   ", "the DSN is empty"),
        ("db.example.com:5432", "neither a postgresql:// URL nor key=value"),
        ("mysql://u:hunter2@h/d", "scheme 'mysql' is not PostgreSQL's"),
        ("postgresql://u:hun/ter2@h/d", "percent-encode '@', ':', '/'"),
        ("postgresql://u:hunter2@h:99999/d", "port is not a number"),
        ("postgresql://u:hunter2@a,b/d", "names 2 hosts"),
        ("host=a,b password=hunter2", "several hosts"),
        ("postgresql://u:hunter2@[::1/d", "closing bracket"),
        ("postgresql://u:hunter2@h/d?sslmode", "is not NAME=VALUE"),
        ("postgresql://u:hunter2@h/d?hots=x", "did you mean host?"),
        ("host=h password=hunter two", "word without '=' at character 24"),
        ("host=h password=hunter 2", "not key=value at character 24"),
        ("host=h password='hunter2", "no closing quote"),
        ("host=h sslmode=maybe password=hunter2", "sslmode 'maybe' is not one of"),
        ("postgresql://u:hunter2@h/d#frag", "'#'"),
        ("postgresql://u:%ff%fe@h/d", "not UTF-8"),
        ("host=h password=hunter2 bogus=1", "libpq does not know"),
    ],
)
def test_bad_dsns_say_what_is_wrong_and_never_the_password(text, says):
    with pytest.raises(DsnError) as caught:
        parse_dsn(text)
    message = str(caught.value)
    assert says in message
    assert "hunter" not in message and "ter2" not in message and "two" not in message


def test_libpq_refuses_the_unknown_parameters_parse_refuses():
    for text in ("postgresql://h/d?bogus=1", "host=h bogus=1", "host=h sslmde=require"):
        with pytest.raises(DsnError):
            parse_dsn(text)
        with pytest.raises(psycopg.ProgrammingError):
            conninfo_to_dict(text)


# --- resolve_target: the order ----------------------------------------------------------


def direct_profile(**fields) -> Profile:
    return Profile(name="lab-direct", kind="direct", **fields)


def test_flag_dsn_without_password_leaves_libpq_its_own_lookup():
    target = resolve_target(dsn="postgresql://probe@h:6432/pulp", environ={})
    assert "password" not in target.params
    assert target.source == "--dsn"
    assert "PGPASSWORD" in target.password_source
    assert target.warnings == ()


def test_flag_dsn_with_password_works_but_warns_about_the_process_list():
    target = resolve_target(dsn="postgresql://probe:hunter2@h/pulp", environ={})
    assert target.params["password"] == "hunter2"
    assert any("process list" in warning for warning in target.warnings)
    assert all("hunter2" not in warning for warning in target.warnings)


def test_dsn_env_and_password_env_flags():
    environ = {"PROBE_DSN": "postgresql://probe@h/pulp", "PROBE_PW": "hunter2"}
    target = resolve_target(dsn_env="PROBE_DSN", password_env="PROBE_PW", environ=environ)
    assert target.source == "environment variable PROBE_DSN"
    assert target.params["password"] == "hunter2"
    assert target.password_source == "environment variable PROBE_PW"
    assert target.warnings == ()


def test_flags_win_over_the_profile_and_its_password_stays_home():
    profile = direct_profile(dsn="postgresql://probe@profile-host/pulp", password="stored")
    target = resolve_target(dsn="postgresql://other@flag-host/pulp", profile=profile,
                            environ={})  # fmt: skip
    assert target.params["host"] == "flag-host"
    assert "password" not in target.params
    assert any("replaces profile lab-direct" in warning for warning in target.warnings)


def test_profile_with_dsn_and_password_env():
    profile = direct_profile(dsn="postgresql://probe@h:6432/pulp", password_env="LAB_PW")
    target = resolve_target(profile=profile, environ={"LAB_PW": "hunter2"})
    assert target.source == "profile lab-direct"
    assert target.params["password"] == "hunter2"
    assert target.display() == "postgresql://probe@h:6432/pulp"


def test_profile_with_dsn_and_stored_password():
    profile = direct_profile(dsn="postgresql://probe@h/pulp", password="hunter2")
    target = resolve_target(profile=profile, environ={})
    assert target.params["password"] == "hunter2"
    assert target.password_source == "stored in the profiles file"
    assert "hunter2" not in repr(profile) and "hunter2" not in repr(target)


def test_profile_with_dsn_env_may_carry_the_password_in_the_variable():
    profile = direct_profile(dsn_env="LAB_DSN")
    target = resolve_target(profile=profile,
                            environ={"LAB_DSN": "postgresql://probe:hunter2@h/pulp"})  # fmt: skip
    assert target.params["password"] == "hunter2"
    assert target.warnings == ()  # not on a command line: nothing for ps to show
    assert target.source == "profile lab-direct"


@pytest.mark.parametrize(
    ("kwargs", "environ", "says"),
    [
        ({"dsn_env": "PROBE_DSN"}, {}, "environment variable PROBE_DSN (--dsn-env) is not set"),
        ({"dsn": "postgresql://p@h/d", "password_env": "PW"}, {}, "PW"),
        ({"dsn": "postgresql://p@h/d", "dsn_env": "X"}, {"X": "host=h"}, "not both"),
        ({}, {}, "no PostgreSQL endpoint given"),
        ({"dsn_env": "1BAD"}, {}, "is not an environment variable name"),
        ({"dsn_env": "X"}, {"X": "nonsense"}, "environment variable X: the DSN is neither"),
        (
            {"dsn": "postgresql://p:hunter2@h/d", "password_env": "PW"},
            {"PW": "x"},
            "holds a password and another one is given",
        ),
    ],
)
def test_resolution_errors_name_what_to_fix(kwargs, environ, says):
    with pytest.raises(DsnError) as caught:
        resolve_target(environ=environ, **kwargs)
    assert says in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_profile_variable_unset_is_named():
    with pytest.raises(DsnError) as caught:
        resolve_target(profile=direct_profile(dsn_env="LAB_DSN"), environ={})
    assert "LAB_DSN" in str(caught.value) and "lab-direct" in str(caught.value)
    with pytest.raises(DsnError) as caught:
        resolve_target(profile=direct_profile(dsn="host=h", password_env="LAB_PW"), environ={})
    assert "LAB_PW" in str(caught.value)


def test_a_pulp_profile_is_not_a_direct_target():
    with pytest.raises(DsnError) as caught:
        resolve_target(profile=Profile(name="prod", api_root="https://pulp.example.com"))
    assert "profile prod is a Pulp profile" in str(caught.value)


def test_module_imports_without_psycopg():
    # The base install has no psycopg: reading a DSN must not need it.
    code = (
        "import sys; sys.modules['psycopg'] = None; "
        "from rds_tui.direct import dsn, errors; "
        "print(dsn.parse_dsn('postgresql://u@h/d')['host'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "h", result.stderr
