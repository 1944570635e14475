"""`profiles list|show|add|remove|import-pulp-cli`: the saved instances, Pulp servers
and PostgreSQL endpoints probed directly (kind direct: a DSN without its password).

A password is never printed: `show` says where it comes from. `add --store-password`
asks for it (no echo) instead of taking it on the command line, where the process
list would show it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rds_tui import cli
from rds_tui.cli import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    profiles = cli.add_command_parser(
        subparsers,
        "profiles",
        help="saved instances: Pulp servers, or PostgreSQL endpoints for `rds-tui probe`",
        description="Manage the profiles file (RDS_TUI_CONFIG). Passwords are never shown.",
    )
    commands = profiles.add_subparsers(dest="profiles_command", metavar="ACTION")

    listing = commands.add_parser("list", help="list the profiles")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_command)

    show = commands.add_parser("show", help="show one profile (never its password)")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=show_command)

    add = commands.add_parser(
        "add",
        help="add (or with --replace, replace) a profile",
        description=(
            "Add a profile: a Pulp server (--api-root URL) or a PostgreSQL endpoint that "
            "`rds-tui probe` connects to directly (--dsn URL or --dsn-env VAR). The "
            "password is not stored unless --store-password is given (it is then asked "
            "for, without echo); name an environment variable that holds it with "
            "--password-env instead."
        ),
    )
    add.add_argument("name", metavar="NAME")
    where = add.add_mutually_exclusive_group()
    where.add_argument(
        "--api-root",
        dest="profile_api_root",
        metavar="URL",
        help="Pulp server base URL, like https://pulp.example.com",
    )
    where.add_argument(
        "--dsn",
        dest="profile_dsn",
        metavar="DSN",
        help="a direct profile: the PostgreSQL DSN, like postgresql://probe@HOST:6432/pulp "
        "(no password in it: use --password-env or --store-password)",
    )
    where.add_argument(
        "--dsn-env",
        dest="profile_dsn_env",
        metavar="VAR",
        help="a direct profile: the environment variable that holds the DSN",
    )
    add.add_argument(
        "--api-prefix",
        dest="profile_api_prefix",
        metavar="PATH",
        help="Pulp's API root (default /pulp/)",
    )
    add.add_argument(
        "--domain", dest="profile_domain", metavar="NAME", help="Pulp domain (default: default)"
    )
    add.add_argument("--user", dest="profile_user", metavar="NAME", help="user name")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the password"
    )
    secret.add_argument(
        "--store-password",
        action="store_true",
        help="ask for the password and store it in the file (mode 0600)",
    )
    add.add_argument("--cert", dest="profile_cert", metavar="FILE", help="client certificate")
    add.add_argument("--key", dest="profile_key", metavar="FILE", help="client certificate's key")
    tls = add.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", metavar="FILE", help="verify TLS against this CA bundle")
    tls.add_argument(
        "--no-verify-ssl",
        dest="profile_no_verify",
        action="store_true",
        help="do not verify the server's certificate (insecure)",
    )
    add.add_argument(
        "--poll-interval",
        type=float,
        metavar="SECONDS",
        help="default poll interval for this instance",
    )
    add.add_argument(
        "--expected-cutoff",
        type=int,
        metavar="SECONDS",
        help="the idle cutoff to draw (overrides the server's)",
    )
    add.add_argument(
        "-t",
        "--test",
        dest="default_tests",
        action="append",
        metavar="TEST",
        help="a test to preselect (repeatable)",
    )
    add.add_argument(
        "--duration", type=int, metavar="MINUTES", help="default test duration in minutes"
    )
    add.add_argument(
        "--expected-in-transaction-cutoff",
        type=int,
        metavar="SECONDS",
        help="direct profiles: the cutoff tests 3 and 4 are measured against "
        "(default: --expected-cutoff)",
    )
    add.add_argument(
        "--time-unit",
        dest="profile_time_unit",
        type=float,
        metavar="SECONDS",
        help="direct profiles: how long one 'minute' of a run lasts (default 60; the lab: 1)",
    )
    aws = add.add_argument_group(
        "AWS (optional; fills in the aws command lines of a report's Collect next section)"
    )
    aws.add_argument("--rds-proxy-name", metavar="NAME", help="the RDS Proxy in front of Pulp")
    aws.add_argument("--aws-region", metavar="REGION", help="e.g. us-east-1")
    aws.add_argument(
        "--db-instance-identifier", metavar="ID", help="the RDS instance behind the proxy"
    )
    aws.add_argument(
        "--postgres-log-group",
        metavar="GROUP",
        help="default /aws/rds/instance/ID/postgresql",
    )
    aws.add_argument("--proxy-log-group", metavar="GROUP", help="default /aws/rds/proxy/NAME")
    add.add_argument("--replace", action="store_true", help="replace a profile of that name")
    add.set_defaults(handler=add_command)

    remove = commands.add_parser("remove", help="remove a profile")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=remove_command)

    importer = commands.add_parser(
        "import-pulp-cli",
        help="import pulp-cli's profiles ([cli] becomes `pulp-cli`, [cli-NAME] becomes NAME)",
        description=(
            "Import the profiles of pulp-cli from /etc/pulp/cli.toml and "
            "~/.config/pulp/cli.toml (later files win per key). rds-tui's own settings "
            "of a profile with the same name are kept."
        ),
    )
    importer.add_argument(
        "--file",
        dest="files",
        action="append",
        type=Path,
        metavar="PATH",
        help="read this pulp-cli file instead (repeatable, later wins)",
    )
    importer.add_argument(
        "--with-passwords",
        action="store_true",
        help="also store pulp-cli's passwords in the profiles file",
    )
    importer.set_defaults(handler=import_command)

    profiles.set_defaults(handler=lambda args: _usage(profiles))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return cli.EXIT_USAGE


def _store() -> Any:
    from rds_tui.profiles import ProfileStore

    store = ProfileStore()
    warning = _calling(store.permission_warning)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return store


def _calling(action):
    """Run a store action; profile problems become usage errors (exit 2)."""
    from rds_tui.profiles import ProfileError

    try:
        return action()
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def public_fields(profile: Any) -> dict[str, Any]:
    """The fields of the profile's kind except the password, plus whether one is stored.
    A direct profile's DSN is shown as a URL without any secret."""
    from rds_tui.profiles import fields_of_kind

    document = profile.model_dump(mode="json", include=fields_of_kind(profile.kind))
    document.pop("password", None)
    if document.get("dsn"):
        document["dsn"] = profile.where()
    document["password_stored"] = profile.password is not None
    return document


def list_command(args: argparse.Namespace) -> int:
    store = _store()
    profiles = _calling(store.list)
    if args.json:
        print(json.dumps([public_fields(p) for p in profiles], indent=2))
        return cli.EXIT_OK
    if not profiles:
        print(f"No profiles yet ({store.path}).")
        print("Add one:  rds-tui profiles add NAME --api-root https://pulp.example.com --user U")
        print("or import pulp-cli's:  rds-tui profiles import-pulp-cli")
        return cli.EXIT_OK
    print(f"Profiles in {store.path}:")
    rows = [("NAME", "KIND", "SERVER OR DSN", "AUTH")]
    rows += [(p.name, p.kind, p.where() + _prefix_note(p), p.auth_summary()) for p in profiles]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    for name, kind, server, auth in rows:
        print(f"  {name.ljust(width[0])}  {kind.ljust(width[1])}  {server.ljust(width[2])}  {auth}")
    return cli.EXIT_OK


def _prefix_note(profile: Any) -> str:
    extra = []
    if profile.api_prefix != "/pulp/":
        extra.append(f"prefix {profile.api_prefix}")
    if profile.domain != "default":
        extra.append(f"domain {profile.domain}")
    return f" ({', '.join(extra)})" if extra else ""


def show_command(args: argparse.Namespace) -> int:
    store = _store()
    profile = _calling(lambda: store.get(args.name))
    if args.json:
        print(json.dumps(public_fields(profile), indent=2))
        return cli.EXIT_OK
    print(f"Profile {profile.name} ({store.path})")
    for key, value in public_fields(profile).items():
        if key in ("name", "password_stored") or value in (None, []):
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        print(f"  {key:<24} {value}")
    print(f"  {'password':<24} {profile.password_source()}")
    return cli.EXIT_OK


def _read_password(name: str) -> str:
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for profile {name}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("--store-password: no password given (empty input)")
    return password


def _test_names(requested: list[str] | None) -> list[str] | None:
    """Full test names for what the user typed (a name, a number, a unique prefix)."""
    if not requested:
        return None
    from rds_tui import catalog

    names = []
    for text in requested:
        name = catalog.resolve_name(text)
        if name is None:
            raise UsageError(
                f"-t {text}: not a test; use a name, its number or a unique prefix of: "
                + ", ".join(catalog.KNOWN_TEST_NAMES)
            )
        names.append(name)
    return names


def add_command(args: argparse.Namespace) -> int:
    from rds_tui.profiles import make_profile

    store = _store()
    direct = bool(args.profile_dsn or args.profile_dsn_env)
    api_root = None if direct else (args.profile_api_root or getattr(args, "api_root", None))
    if not direct and not api_root:
        raise UsageError(
            f"profiles add {args.name}: give --api-root URL (a Pulp server) or --dsn URL / "
            "--dsn-env VAR (a PostgreSQL endpoint for rds-tui probe)"
        )
    if not args.replace and args.name in {p.name for p in _calling(store.list)}:
        raise UsageError(
            f"a profile named {args.name!r} exists already; add --replace to overwrite it"
        )
    if args.store_password and not direct and not args.profile_user:
        raise UsageError("--store-password needs --user NAME (the password's user)")
    if args.store_password and args.profile_dsn_env:
        raise UsageError(
            "--store-password goes with --dsn (the DSN in the file); with --dsn-env the "
            "variable's DSN or --password-env gives the password"
        )
    dsn, dsn_password = _dsn_and_password(args.profile_dsn, args.store_password)
    fields: dict[str, Any] = {
        "name": args.name,
        "kind": "direct" if direct else None,
        "dsn": dsn,
        "dsn_env": args.profile_dsn_env,
        "time_unit_seconds": args.profile_time_unit,
        "api_root": api_root,
        "api_prefix": args.profile_api_prefix,
        "domain": args.profile_domain,
        "username": args.profile_user,
        "password_env": args.password_env,
        "cert": args.profile_cert,
        "key": args.profile_key,
        "verify_ssl": False if args.profile_no_verify else args.ca_bundle,
        "poll_interval": args.poll_interval,
        "expected_cutoff_seconds": args.expected_cutoff,
        "expected_in_transaction_cutoff_seconds": args.expected_in_transaction_cutoff,
        "default_tests": _test_names(args.default_tests),
        "default_duration": args.duration,
        "rds_proxy_name": args.rds_proxy_name,
        "aws_region": args.aws_region,
        "db_instance_identifier": args.db_instance_identifier,
        "postgres_log_group": args.postgres_log_group,
        "proxy_log_group": args.proxy_log_group,
    }
    fields = {key: value for key, value in fields.items() if value is not None}
    for label, path in (
        ("--cert", args.profile_cert),
        ("--key", args.profile_key),
        ("--ca-bundle", args.ca_bundle),
    ):
        if path and not Path(path).expanduser().is_file():
            print(f"warning: {label} {path}: no such file (yet)", file=sys.stderr)
    profile = _calling(lambda: make_profile(**fields))
    if args.store_password:
        password = dsn_password or _read_password(args.name)
        profile = profile.model_copy(update={"password": password})
    _calling(lambda: store.upsert(profile))
    print(f"Saved profile {profile.name} ({profile.where()}) in {store.path}")
    if dsn_password is not None:
        print(
            "note: the DSN's password went into the profile's own password field (mode "
            "0600), not into its DSN; the command line that held it may be in your shell "
            "history"
        )
    if profile.kind == "direct" and profile.password is None and not profile.password_env:
        print(
            "note: no password source; libpq's own PGPASSWORD or ~/.pgpass apply, or give "
            "one with --password-env VAR or --store-password"
            if not profile.dsn_env
            else "note: the DSN comes from the variable (its password too, if it has one)"
        )
    if profile.username and profile.password is None and not profile.password_env:
        print(
            "note: no password source; give one with --password-env VAR or --store-password, "
            "or set PULP_PASSWORD when you use the profile"
        )
    return cli.EXIT_OK


def _dsn_and_password(dsn: str | None, store_password: bool) -> tuple[str | None, str | None]:
    """(the DSN to save, the password taken out of it): a DSN holding a password is saved
    only with --store-password, and then without it (the password goes in its own field)."""
    if dsn is None:
        return None, None
    from rds_tui.direct.dsn import DsnError, dsn_has_password, strip_password

    try:
        if not dsn_has_password(dsn):
            return dsn, None
        if not store_password:
            raise UsageError(
                "--dsn holds a password; it is not written to the file unless you ask: "
                "drop it from the DSN and use --password-env VAR (or PGPASSWORD/~/.pgpass), "
                "or add --store-password to keep it in the profile (mode 0600)"
            )
        return strip_password(dsn)
    except DsnError as exc:
        raise UsageError(f"--dsn: {exc}") from None


def remove_command(args: argparse.Namespace) -> int:
    store = _store()
    _calling(lambda: store.remove(args.name))
    print(f"Removed profile {args.name} from {store.path}")
    return cli.EXIT_OK


def import_command(args: argparse.Namespace) -> int:
    from rds_tui.profiles import read_pulp_cli_profiles

    store = _store()
    found = _calling(
        lambda: read_pulp_cli_profiles(args.files, store_passwords=args.with_passwords)
    )
    print("Read " + ", ".join(str(path) for path in found.sources))
    for note in found.notes:
        print(f"  note: {note}")
    if not found.profiles:
        print("No pulp-cli profile to import.")
        return cli.EXIT_OK
    imported = _calling(lambda: store.add_imported(found))
    for profile in imported:
        print(f"  imported {profile.name}: {profile.where()} ({profile.auth_summary()})")
    print(f"{len(imported)} profile(s) saved in {store.path}")
    return cli.EXIT_OK
