"""`rds-tui probe` refuses what cannot work with one worded line and the right exit code,
before any probe starts: no psycopg (the install line), a bad DSN or unset variable
(exit 2), an endpoint that refuses or does not resolve (exit 3). Never a traceback,
never the password. No lab needed (the wrong password, which needs a real PostgreSQL,
is in test_direct_cli_lab.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

from rds_tui import cli

from .clihelpers import run_cli

PASSWORD = "S3cret-pw-never-shown"
# A meta path finder that makes psycopg look uninstalled, then the program's entry.
WITHOUT_PSYCOPG = textwrap.dedent(
    """
    import sys

    class HidePsycopg:
        def find_spec(self, name, path=None, target=None):
            if name == "psycopg" or name.startswith("psycopg."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, HidePsycopg())
    from rds_tui.main import main
    sys.argv[0] = "rds-tui"
    raise SystemExit(main())
    """
)


def refused_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_worded_line(code: int, expected: int, out: str, err: str) -> str:
    """The exit code, one error line on stderr (after any warnings), no traceback, no
    password; returns the error line."""
    assert code == expected, (code, out, err)
    assert "Traceback" not in out + err
    assert PASSWORD not in out + err
    errors = [line for line in err.splitlines() if line.startswith("rds-tui: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def test_without_psycopg_it_says_how_to_install_the_direct_extra(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, "probe", "--dsn",
         "postgresql://probe@127.0.0.1:5432/pulp", "--all"],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "RDS_TUI_DATA_DIR": str(tmp_path),
             "RDS_TUI_CONFIG": str(tmp_path / "profiles.toml")},
    )  # fmt: skip
    line = assert_one_worded_line(done.returncode, cli.EXIT_USAGE, done.stdout, done.stderr)
    assert "pip install ./probes '.[direct]'" in line
    assert "psycopg" in line


@pytest.mark.parametrize(
    ("dsn", "says"),
    [
        ("mysql://probe@db:3306/pulp", "is not PostgreSQL's"),
        ("postgresql://probe@db:54x2/pulp", "port is not a number"),
        ("postgresql://probe@a,b/pulp", "tests one endpoint"),
        ("host=db prot=6432", "did you mean port?"),
        ("just words", "neither a postgresql:// URL nor key=value pairs"),
    ],
)
def test_a_bad_dsn_is_a_usage_error_saying_how_to_write_it(capsys, dsn, says):
    code, out, err = run_cli(capsys, "probe", "--dsn", dsn, "--all")
    line = assert_one_worded_line(code, cli.EXIT_USAGE, out, err)
    assert says in line


def test_a_bad_dsn_never_echoes_the_password(capsys):
    # An unencoded '/' in the password breaks the port: the password must not show.
    code, out, err = run_cli(
        capsys, "probe", "--dsn", f"postgresql://probe:{PASSWORD}/x@db:6432/pulp", "--all"
    )
    assert_one_worded_line(code, cli.EXIT_USAGE, out, err)


@pytest.mark.parametrize("flag", ["--dsn-env", "--password-env"])
def test_an_unset_variable_is_named_with_how_to_set_it(capsys, monkeypatch, flag):
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    monkeypatch.setenv("LAB_DSN", "postgresql://probe@127.0.0.1:6432/pulp")
    where = ["--dsn-env", "LAB_DSN"] if flag == "--password-env" else []
    code, out, err = run_cli(capsys, "probe", *where, flag, "NO_SUCH_VAR", "--all")
    line = assert_one_worded_line(code, cli.EXIT_USAGE, out, err)
    assert "NO_SUCH_VAR" in line and "is not set" in line and "export NO_SUCH_VAR=" in line


def test_no_endpoint_at_all_lists_the_three_ways(capsys):
    code, out, err = run_cli(capsys, "probe", "--all")
    line = assert_one_worded_line(code, cli.EXIT_USAGE, out, err)
    assert "--dsn" in line and "--dsn-env" in line and "--profile" in line


def test_a_refused_port_is_a_connection_error_naming_the_endpoint(capsys, monkeypatch):
    port = refused_port()
    monkeypatch.setenv("PROBE_PASSWORD", PASSWORD)
    code, out, err = run_cli(
        capsys, "probe", "--dsn", f"postgresql://probe@127.0.0.1:{port}/pulp",
        "--password-env", "PROBE_PASSWORD", "--all",
    )  # fmt: skip
    line = assert_one_worded_line(code, cli.EXIT_API, out, err)
    assert f"127.0.0.1:{port}: connection refused" in line
    assert "check the host and the port" in line


def test_an_unresolvable_host_is_a_connection_error(capsys, monkeypatch):
    monkeypatch.setenv("PROBE_PASSWORD", PASSWORD)
    # .invalid never resolves (RFC 2606); connect_timeout bounds a slow resolver.
    code, out, err = run_cli(
        capsys, "probe", "--dsn",
        "postgresql://probe@no-such-host.invalid:6432/pulp?connect_timeout=5",
        "--password-env", "PROBE_PASSWORD", "--all",
    )  # fmt: skip
    line = assert_one_worded_line(code, cli.EXIT_API, out, err)
    assert "no-such-host.invalid:6432: unknown host" in line


def test_a_connection_error_with_json_prints_a_document_too(capsys):
    port = refused_port()
    code, out, err = run_cli(
        capsys, "probe", "--dsn", f"postgresql://probe@127.0.0.1:{port}/pulp", "--all", "--json"
    )
    line = assert_one_worded_line(code, cli.EXIT_API, out, err)
    document = json.loads(out)
    assert document["error"] in line
    assert len(document["tests"]) == 7


def test_a_password_in_the_dsn_warns_and_is_never_shown(capsys):
    port = refused_port()
    code, out, err = run_cli(
        capsys, "probe", "--dsn", f"postgresql://probe:{PASSWORD}@127.0.0.1:{port}/pulp", "--all"
    )
    assert_one_worded_line(code, cli.EXIT_API, out, err)
    assert "warning: the password in --dsn shows in the process list" in err


def test_another_version_of_the_probes_is_refused_with_the_install_line(capsys, monkeypatch):
    import rds_probes

    monkeypatch.setattr(rds_probes, "__version__", "9.9.9")
    code, out, err = run_cli(capsys, "probe", "--dsn", "postgresql://probe@127.0.0.1/x", "--all")
    line = assert_one_worded_line(code, cli.EXIT_USAGE, out, err)
    assert "rds-probes 9.9.9 is installed" in line and "pip install ./probes" in line


def test_report_of_an_unfinished_direct_run_reads_the_history_without_connecting(capsys):
    from rds_tui.runs import Run, RunStore, RunTask

    run = Run(
        api_root=f"postgresql://127.0.0.1:{refused_port()}/pulp",
        kind="direct",
        tests=["test_1_idle_connection"],
        tasks=[RunTask(test_name="test_1_idle_connection", task_id="t1",
                       task_href="/direct/tasks/t1/")],
    )  # fmt: skip
    RunStore().create(run)
    code, out, err = run_cli(capsys, "report", run.id)
    assert code == cli.EXIT_OK, err
    assert "is a direct run that has not finished" in err
    assert "could not refresh" not in err and "Traceback" not in err
    assert "test_1_idle_connection" in out

    code, out, err = run_cli(capsys, "watch", run.id)
    line = assert_one_worded_line(code, cli.EXIT_USAGE, out, err)
    assert "is a direct run" in line and "nothing to re-attach to" in line
