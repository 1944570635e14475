"""The headless command line (rds_tui.main runs it, and starts the dashboard when no
command is given: this package never imports the dashboard).

Each subcommand lives in a module of `rds_tui.cli` that exposes
`add_parser(subparsers)`; the parser it adds sets `handler` (a callable taking the
parsed arguments and returning an exit code). Imports stay lazy (subcommand modules
import only argparse at module level) so `rds-tui rds_connection_tests --list` starts
in well under 0.3 s: no Textual, pydantic or httpx on that path.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from rds_tui import __version__
from rds_tui.credentials import ENV_API_ROOT, ENV_PASSWORD, ENV_USER

if TYPE_CHECKING:
    from rds_tui.credentials import ConnectionFlags, ResolvedConnection

# Exit codes (documented in --help and the README).
EXIT_OK = 0  # every task finished (a dead connection is a finding, not an error)
EXIT_ERROR = 1  # the dashboard could not start, or an unexpected internal error
EXIT_USAGE = 2  # bad options or arguments (argparse uses 2 as well)
EXIT_API = 3  # the server could not be reached or refused (TLS, 401, 403, 404, 429, 5xx)
EXIT_TASKS_FAILED = 4  # a task failed, was canceled or skipped at the Pulp level
EXIT_INTERRUPTED = 130  # monitoring interrupted (Ctrl-C); the tasks keep running
EXIT_BROKEN_PIPE = 141  # the reader of the output went away (`| head`), as after SIGPIPE

EXIT_CODES_HELP = """\
exit codes:
  0    every task finished (a dead connection is a finding, not an error)
  1    the dashboard could not start, or an internal error
  2    usage error: bad option, unknown test or run, no server given
  3    API or authentication error: unreachable, TLS, 401, 403, 404, 429, 5xx
  4    a task failed, was canceled or skipped at the Pulp level
  130  monitoring interrupted (Ctrl-C, SIGTERM); the tasks keep running on the server

environment:
  PULP_API_ROOT, PULP_USER, PULP_PASSWORD   server and credentials (like the flags)
  RDS_TUI_CONFIG     profiles file      RDS_TUI_DATA_DIR   run history directory
"""

COMMAND_MODULES = ("tests", "probe", "verify", "check", "lab", "history", "profiles")
# Which module defines each command, so a command line imports only the module it runs.
COMMAND_OWNERS = {
    "rds_connection_tests": "tests",
    "rds-connection-tests": "tests",
    "watch": "tests",
    "cancel": "tests",
    "probe": "probe",
    "verify": "verify",
    "check": "check",
    "lab": "lab",
    "runs": "history",
    "report": "history",
    "profiles": "profiles",
}
# Global options that take a value (the command is the first other bare word).
_VALUE_OPTIONS = {
    "--api-root",
    "--api-prefix",
    "--domain",
    "--user",
    "--password",
    "--cert",
    "--key",
    "--ca-bundle",
    "--profile",
}


class UsageError(Exception):
    """A mistake in how the command was called; main() prints it and exits 2."""


# --- the one output writer -------------------------------------------------------------


class TerminalSafeWriter:
    """A text stream that passes on everything except what a terminal would obey.

    Every line the commands print (to stdout or stderr) may quote a server or a database:
    the wire models clean that text already; this writer is the second line, for text
    from anywhere else (a run file, an exception). It drops escape sequences and control
    characters except newline and tab (rds_tui.untrusted, without a length bound). JSON
    output stays valid: json.dumps writes controls as \\u escapes, which pass unchanged.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from rds_tui.untrusted import clean_text

        self._stream.write(clean_text(text, limit=sys.maxsize))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def terminal_safe_output() -> Iterator[None]:
    """Route sys.stdout and sys.stderr through TerminalSafeWriter while a command runs."""
    saved = sys.stdout, sys.stderr
    sys.stdout = TerminalSafeWriter(saved[0])  # type: ignore[assignment]
    sys.stderr = TerminalSafeWriter(saved[1])  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


# --- global connection options ---------------------------------------------------------


def connection_parent() -> argparse.ArgumentParser:
    """A parent parser with the global connection options, for commands that also take
    them after the command name (they never overwrite those given before it)."""
    parent = argparse.ArgumentParser(add_help=False)
    add_connection_options(parent, suppress=True)
    return parent


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """The guide's global options. With `suppress`, unset options leave no default, so
    the same options given after the subcommand don't overwrite those given before it."""
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("server and credentials")
    group.add_argument(
        "--api-root",
        metavar="URL",
        default=default,
        help=f"server base URL, like https://pulp.example.com (env {ENV_API_ROOT})",
    )
    group.add_argument(
        "--api-prefix",
        metavar="PATH",
        default=default,
        help="Pulp's API root on that server (default /pulp/)",
    )
    group.add_argument(
        "--domain", metavar="NAME", default=default, help="Pulp domain (default: default)"
    )
    group.add_argument(
        "--user", metavar="NAME", default=default, help=f"user name (env {ENV_USER})"
    )
    group.add_argument(
        "--password",
        metavar="PASSWORD",
        default=default,
        help=f"password; visible in the process list, prefer env {ENV_PASSWORD} or a profile",
    )
    group.add_argument("--cert", metavar="FILE", default=default, help="client certificate (PEM)")
    group.add_argument("--key", metavar="FILE", default=default, help="client certificate's key")
    group.add_argument(
        "--verify-ssl",
        dest="verify_ssl",
        action="store_const",
        const=True,
        default=default,
        help="verify the server's certificate (default)",
    )
    group.add_argument(
        "--ca-bundle",
        dest="verify_ssl",
        metavar="FILE",
        default=default,
        help="verify the server's certificate against this CA bundle (private CA)",
    )
    group.add_argument(
        "--no-verify-ssl",
        dest="verify_ssl",
        action="store_const",
        const=False,
        default=default,
        help="do not verify the server's certificate (insecure)",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help="use a saved instance profile (see `rds-tui profiles`)",
    )
    group.add_argument(
        "--read-only",
        action="store_true",
        default=default,
        help="never dispatch or cancel anything (watch and read only)",
    )


def connection_flags(args: argparse.Namespace) -> ConnectionFlags:
    """The connection options given on this command line (None: not given)."""
    from rds_tui.credentials import ConnectionFlags

    option = lambda name: getattr(args, name, None)
    return ConnectionFlags(
        api_root=option("api_root"),
        api_prefix=option("api_prefix"),
        domain=option("domain"),
        user=option("user"),
        password=option("password"),
        cert=option("cert"),
        key=option("key"),
        verify=option("verify_ssl"),
        profile=option("profile"),
    )


def resolve_connection(args: argparse.Namespace, *, run: Any = None) -> ResolvedConnection:
    """rds_tui.credentials.resolve for this command line; its errors are usage errors,
    its notes and the risky choices become warnings on stderr."""
    from rds_tui.credentials import CredentialError, plain_http_auth_warning, resolve

    try:
        connection = resolve(connection_flags(args), run=run)
    except CredentialError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "password", None) is not None:
        print(
            "warning: a password given with --password is visible to other users in the "
            f"process list; prefer {ENV_PASSWORD} or a profile with password_env",
            file=sys.stderr,
        )
    if connection.verify is False:
        print("warning: TLS certificate verification is disabled", file=sys.stderr)
    for note in connection.notes:
        print(f"warning: {note}", file=sys.stderr)
    cleartext = plain_http_auth_warning(connection.api_root, connection.username)
    if cleartext:
        print(f"warning: {cleartext}", file=sys.stderr)
    return connection


def load_run(run_id: str) -> Any:
    """A run of the history by id, unique prefix or "last"; a UsageError otherwise."""
    from rds_tui.runs import RunError, RunStore

    try:
        return RunStore().get(run_id)
    except RunError as exc:
        raise UsageError(str(exc)) from None


def require_api_root(connection: ResolvedConnection) -> str:
    if not connection.api_root:
        raise UsageError(
            "no server given: pass --api-root https://your-pulp-instance.com, "
            f"set {ENV_API_ROOT}, or use --profile NAME"
        )
    return connection.api_root


def require_password(connection: ResolvedConnection) -> None:
    """A user without a password can only fail with 401: say what is missing first."""
    if connection.missing_password:
        profile = connection.profile
        source = (
            f"profile {profile.name!r}, password: {profile.password_source()}"
            if profile is not None and profile.username == connection.username
            else "no --password"
        )
        raise UsageError(
            f"no password for user {connection.username!r} ({source}): set {ENV_PASSWORD}, "
            "or use a profile with password_env, or --password"
        )


# --- parser and dispatch -------------------------------------------------------------


def requested_module(argv: list[str]) -> str | None:
    """The command module the command line asks for, None when unknown (e.g. --help)."""
    words = iter(argv)
    for word in words:
        if word in _VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return COMMAND_OWNERS.get(word)
    return None


def add_command_parser(
    subparsers: argparse._SubParsersAction, name: str, **options: Any
) -> argparse.ArgumentParser:
    """A command's parser: its --help keeps the description's line breaks and ends with
    the exit codes and environment, like the top-level help."""
    return subparsers.add_parser(
        name,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **options,
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` a module name, just that module's commands."""
    parser = argparse.ArgumentParser(
        prog="rds-tui",
        description=(
            "Launch, watch and read RDS Proxy connection probes in a Pulp deployment. "
            "Without a command, opens the dashboard."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rds-tui {__version__}")
    add_connection_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only else COMMAND_MODULES:
        try:
            module = __import__(f"rds_tui.cli.{name}", fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name != f"rds_tui.cli.{name}":
                raise
            continue  # that command group is not part of this build
        module.add_parser(subparsers)
    return parser


def run_dashboard(args: argparse.Namespace) -> int:
    """Start the dashboard through the opener the program handed in (rds_tui.main): the
    command line itself never imports it."""
    opener = getattr(args, "open_dashboard", None)
    if opener is None:
        print(
            "rds-tui: the dashboard is not available from this entry point; give a command "
            "(see `rds-tui --help`)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return opener(profile_name=args.profile, read_only=bool(args.read_only))


def attach_option_values(argv: list[str]) -> list[str]:
    """`--password -x1` -> `--password=-x1`: argparse would take a value that starts with
    "-" (common in generated passwords) for an option and refuse it."""
    joined: list[str] = []
    words = iter(argv)
    for word in words:
        if word in _VALUE_OPTIONS:
            value = next(words, None)
            if value is None:
                joined.append(word)
            elif value.startswith("-") and (value.startswith("--") or len(value) == 2):
                joined += [word, value]  # a missing value followed by another option
            else:
                joined.append(f"{word}={value}")
        else:
            joined.append(word)
    return joined


def main(argv: list[str] | None = None, *, open_dashboard: Callable[..., int] | None = None) -> int:
    """The headless commands. `open_dashboard(profile_name=..., read_only=...)` starts the
    dashboard (no command, `lab up`); rds_tui.main passes it."""
    with terminal_safe_output():
        return _main(argv, open_dashboard)


def _main(argv: list[str] | None, open_dashboard: Callable[..., int] | None) -> int:
    argv = attach_option_values(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser(only=requested_module(argv))
    args = parser.parse_args(argv)
    args.open_dashboard = open_dashboard
    handler = getattr(args, "handler", None)
    try:
        if args.command is None:
            return run_dashboard(args)
        if handler is None:
            parser.parse_args([args.command, "--help"])
            return EXIT_USAGE
        return handler(args)
    except UsageError as exc:
        print(f"rds-tui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `rds-tui runs | head`: the reader has all it wanted. No traceback; and point
        # stdout at /dev/null so the interpreter's last flush does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass  # not a real file (captured in tests)
        return EXIT_BROKEN_PIPE
