"""`rds-tui lab ...`: start, inspect and stop the local lab (see the rds_tui.lab package).

`rds-tui lab` runs a lab in the foreground (dashboard on it, or wait for Ctrl-C) and
tears it down afterwards; `lab up --detach` leaves it running for `lab status` and
`lab down` from other shells.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from signal import SIGHUP, SIGINT, SIGTERM
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rds_tui.lab import LabStatus

EXIT_OK = 0
EXIT_LAB_ERROR = 1  # the lab could not start / is not running
EXIT_NOT_RUNNING = 3  # `lab status`: no lab running in that directory
LAB_POLL_INTERVAL_SECONDS = 2.0
LAB_DIRECT_PROFILE = "lab-direct"


# Options may come before or after the subcommand (`lab --dir D status` and `lab status
# --dir D`): SUPPRESS keeps a subparser's unset option from overwriting the other.
def _add_directory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="lab directory (default: the user state directory's rds-tui/lab)",
    )


def _directory(args: argparse.Namespace) -> Path:
    from rds_tui.lab import default_lab_dir

    return (getattr(args, "dir", None) or default_lab_dir()).expanduser().absolute()


def _add_start_options(parser: argparse.ArgumentParser) -> None:
    from rds_tui.lab import LabOptions

    defaults = LabOptions()
    _add_directory_option(parser)
    parser.add_argument(
        "--workers", type=int, default=argparse.SUPPRESS,
        help=f"pulpcore workers; one runs one test at a time (default {defaults.workers})",
    )  # fmt: skip
    parser.add_argument(
        "--idle-timeout", type=int, default=argparse.SUPPRESS, metavar="SECONDS",
        help="idle cutoff of the probes' connections, the RDS Proxy stand-in "
        f"(default {defaults.idle_timeout}: production's 40 minutes, scaled)",
    )  # fmt: skip
    parser.add_argument(
        "--idle-in-transaction-timeout", type=int, metavar="SECONDS",
        default=argparse.SUPPRESS,
        help=f"cutoff of idle transactions (default {defaults.idle_in_transaction_timeout})",
    )  # fmt: skip
    parser.add_argument(
        "--pool-mode", choices=("session", "transaction"), default=argparse.SUPPRESS,
        help="PgBouncer pool mode (transaction also sets client_idle_timeout)",
    )  # fmt: skip
    parser.add_argument(
        "--proxy", choices=("pgbouncer", "pgpool"), default=argparse.SUPPRESS,
        help="the proxy in front of the probes (default pgbouncer: PostgreSQL's timeouts cut "
        "idle sessions; pgpool: pgpool-II's client_idle_limit = --idle-timeout cuts idle "
        "clients itself, even in a transaction, like RDS Proxy on a pinned session)",
    )  # fmt: skip
    parser.add_argument(
        "--domains", action="store_true", default=argparse.SUPPRESS,
        help="turn Pulp domains on (DOMAIN_ENABLED, the default domain), as pulp-service runs",
    )  # fmt: skip
    for component in ("api", "postgres", "pgbouncer"):
        parser.add_argument(
            f"--{component}-port", type=int, default=argparse.SUPPRESS, metavar="PORT",
            help=f"port of the lab's {component} on 127.0.0.1 (default: a free one)",
        )  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    lab = subparsers.add_parser(
        "lab",
        help="run a local, time-scaled Pulp behind a proxy",
        description="A local lab: a throw-away PostgreSQL, PgBouncer in front of it standing "
        "in for RDS Proxy, and pulpcore with the plugin. Without a subcommand: start it, "
        "open the dashboard on it, and tear it down when the dashboard exits.",
    )
    _add_start_options(lab)
    lab.set_defaults(handler=lambda args: _run_foreground(args, dashboard=True))
    commands = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND")

    up = commands.add_parser(
        "up", help="start a lab; with --detach leave it running, else stop it on Ctrl-C"
    )
    _add_start_options(up)
    up.add_argument(
        "--detach", action="store_true",
        help="return once the API answers and all workers are online, leaving the lab running",
    )  # fmt: skip
    up.set_defaults(handler=_up)

    status = commands.add_parser("status", help="is a lab running, and where")
    _add_directory_option(status)
    status.add_argument(
        "--json", action="store_true", help="print the lab's state as JSON (includes passwords)"
    )
    status.set_defaults(handler=_status)

    down = commands.add_parser("down", help="stop the lab and remove its data (logs stay)")
    _add_directory_option(down)
    down.set_defaults(handler=_down)


def _options(args: argparse.Namespace):
    from rds_tui.lab import LabOptions

    return LabOptions(
        **{
            name: getattr(args, name)
            for name in (
                "workers",
                "idle_timeout",
                "idle_in_transaction_timeout",
                "pool_mode",
                "proxy",
                "domains",
                "api_port",
                "postgres_port",
                "pgbouncer_port",
            )
            if hasattr(args, name)
        }
    )


def _progress(message: str) -> None:
    print(f"lab: {message}...", file=sys.stderr, flush=True)


def _interrupt_once(signum: int, frame: Any) -> None:
    # Turn SIGTERM into the same path as Ctrl-C, and let no second signal cut the cleanup.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _save_profile(state: LabStatus) -> str | None:
    """Save the lab as profile `lab` (password included: the lab is throw-away)."""
    from rds_tui.profiles import Profile, ProfileError, ProfileStore

    try:
        ProfileStore().upsert(
            Profile(
                name="lab",
                api_root=state.api_root,
                api_prefix=state.api_prefix,
                username=state.username,
                password=state.password,
                expected_cutoff_seconds=state.idle_timeout,
                # A lab minute lasts a second: the default 10 s poll would lag by minutes.
                poll_interval=LAB_POLL_INTERVAL_SECONDS,
            )
        )
    except ProfileError as exc:
        print(f"lab: could not save profile `lab`: {exc}", file=sys.stderr)
        return None
    _save_direct_profile(state)
    return "lab"


def _save_direct_profile(state: LabStatus) -> None:
    """Save the lab's proxy as profile `lab-direct`: `rds-tui probe --profile lab-direct`
    and the dashboard run the probes from this machine, on the lab's clock."""
    from rds_tui.lab.state import TIME_UNIT_SECONDS
    from rds_tui.profiles import Profile, ProfileError, ProfileStore

    host, port = state.proxy_endpoint
    try:
        ProfileStore().upsert(
            Profile(
                name=LAB_DIRECT_PROFILE,
                kind="direct",
                dsn=f"postgresql://{state.probe.user}@{host}:{port}/{state.postgres.database}",
                password=state.probe.password,
                time_unit_seconds=TIME_UNIT_SECONDS,
                expected_cutoff_seconds=state.idle_timeout,
                expected_in_transaction_cutoff_seconds=state.idle_in_transaction_timeout,
            )
        )
    except ProfileError as exc:
        print(f"lab: could not save profile `{LAB_DIRECT_PROFILE}`: {exc}", file=sys.stderr)


def _describe(state: LabStatus, profile: str | None) -> str:
    pg = state.postgres
    proxy_host, proxy_port = state.proxy_endpoint
    if state.pgpool is not None:
        proxy = f"  pgpool-II    {proxy_host}:{proxy_port} (cuts idle clients; probes use it)"
        cutoffs = f"  Idle cutoff  {state.idle_timeout} s (pgpool-II's client_idle_limit, any idle client)"
    else:
        proxy = f"  PgBouncer    {proxy_host}:{proxy_port} ({state.pool_mode} mode; probes use it)"
        cutoffs = (
            f"  Idle cutoff  {state.idle_timeout} s, idle in transaction"
            f" {state.idle_in_transaction_timeout} s"
        )
    pulpcore = f"pulpcore {state.pulpcore_version}; " if state.pulpcore_version else ""
    lines = [
        f"Lab running in {state.dir}",
        (
            f"  Pulp API     {state.api_root}{state.api_prefix}api/v3/"
            f"  ({pulpcore}user {state.username}; {state.workers_online} workers online)"
        ),
        proxy,
        f"  PostgreSQL   {pg.host}:{pg.port} (pulpcore connects here directly)",
        cutoffs,
        *(["  Domains      on: task hrefs under /pulp/default/api/v3/"] if state.domains else []),
        f"  Logs         {Path(state.dir) / 'logs'}",
        f"  Passwords    rds-tui lab status --json --dir {state.dir}",
    ]
    if profile:
        lines.append(
            f"  Profiles     `{profile}` (through Pulp) and `{LAB_DIRECT_PROFILE}` (rds-tui "
            "probe: straight to the proxy) saved in the profile store"
        )
    return "\n".join(lines)


def _start(args: argparse.Namespace, stop_with_owner: bool) -> LabStatus:
    from rds_tui import lab

    return lab.start(
        _directory(args), _options(args), progress=_progress, stop_with_owner=stop_with_owner
    )


def _up(args: argparse.Namespace) -> int:
    if not args.detach:
        return _run_foreground(args, dashboard=False)
    from rds_tui.lab import LabError

    previous = {sig: signal.signal(sig, _interrupt_once) for sig in (SIGTERM, SIGINT)}
    try:
        state = _start(args, stop_with_owner=False)
    except LabError as exc:
        print(f"rds-tui lab: {exc}", file=sys.stderr)
        return EXIT_LAB_ERROR
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    profile = _save_profile(state)
    print(_describe(state, profile))
    print(f"Stop it with: rds-tui lab down --dir {state.dir}")
    return EXIT_OK


def _run_foreground(args: argparse.Namespace, dashboard: bool) -> int:
    """Start a lab, open the dashboard on it (or wait for Ctrl-C), then tear it down."""
    from rds_tui import lab

    # A closed terminal (SIGHUP) stops the lab too; a watchdog covers a killed process.
    previous = {sig: signal.signal(sig, _interrupt_once) for sig in (SIGTERM, SIGINT, SIGHUP)}
    state: LabStatus | None = None
    try:
        state = _start(args, stop_with_owner=True)
        profile = _save_profile(state)
        # Handed in by rds_tui.main: the command line never imports the dashboard.
        run_dashboard = getattr(args, "open_dashboard", None) if dashboard else None
        if run_dashboard is not None and profile:
            return run_dashboard(profile_name=profile)
        print(_describe(state, profile))
        print("Press Ctrl-C to stop the lab.", flush=True)
        while True:  # until Ctrl-C or SIGTERM raises KeyboardInterrupt
            signal.pause()
    except lab.LabError as exc:
        print(f"rds-tui lab: {exc}", file=sys.stderr)
        return EXIT_LAB_ERROR
    except KeyboardInterrupt:
        return 130 if state is None else EXIT_OK
    finally:
        for sig in previous:  # no signal may cut the teardown short
            signal.signal(sig, signal.SIG_IGN)
        if state is not None:
            print("lab: stopping...", file=sys.stderr, flush=True)
            lab.stop(Path(state.dir))
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _status(args: argparse.Namespace) -> int:
    from rds_tui import lab

    try:
        state = lab.status(_directory(args))
    except lab.LabError as exc:
        print(f"rds-tui lab: {exc}", file=sys.stderr)
        return EXIT_LAB_ERROR
    directory = _directory(args)
    if args.json:
        shown = state.to_json() if state is not None else {"running": False, "dir": str(directory)}
        print(json.dumps(shown, indent=2))
    elif state is None:
        print(f"No lab in {directory}. Start one with: rds-tui lab up --detach --dir {directory}")
    elif state.running:
        print(_describe(state, None))
    else:
        dead = [name for name, alive in state.processes_alive.items() if not alive]
        print(
            f"The lab in {directory} is {state.state}, not fully running"
            + (f" (stopped: {', '.join(dead)})" if dead else "")
            + f". Logs: {directory / 'logs'}. Clean up with: rds-tui lab down --dir {directory}"
        )
    return EXIT_OK if state is not None and state.running else EXIT_NOT_RUNNING


def _down(args: argparse.Namespace) -> int:
    from rds_tui import lab

    directory = _directory(args)
    try:
        stopped = lab.stop(directory)
    except lab.LabError as exc:
        print(f"rds-tui lab: {exc}", file=sys.stderr)
        return EXIT_LAB_ERROR
    print(f"Stopped the lab in {directory}." if stopped else f"No lab in {directory}.")
    return EXIT_OK
