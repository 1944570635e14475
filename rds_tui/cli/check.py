"""`rds-tui check`: is this server ready for a run? The service's preflight, printed.

Exit 0 when ready (a check that could not be confirmed is a warning, not a failure),
3 when a check failed, 2 for a usage error (no server given, a password missing).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rds_tui import cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    common = cli.connection_parent()
    check = cli.add_command_parser(
        subparsers,
        "check",
        parents=[common],
        help="check that a server is ready for the tests (reachable, login, plugin, workers)",
        description=(
            "Ask the server what a run needs, in order: reachable, authenticated, plugin\n"
            "installed, tests enabled, workers online. Exit 0 when ready, 3 when a check\n"
            "failed. The server and credentials: --profile NAME, or --api-root and the\n"
            "credential options (or PULP_API_ROOT, PULP_USER, PULP_PASSWORD)."
        ),
    )
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    import asyncio

    from rds_tui.cli.hints import describe
    from rds_tui.service.preflight import SYMBOLS, preflight_with

    connection = cli.resolve_connection(args)
    api_root = cli.require_api_root(connection)
    cli.require_password(connection)
    result = asyncio.run(preflight_with(lambda: connection.client(timeout=15.0), api_root))
    if args.json:
        document: dict[str, Any] = {
            "api_root": api_root,
            "api_prefix": connection.api_prefix,
            "domain": connection.domain,
            "profile": connection.profile_name,
            "credentials": connection.source,
            "ready": result.ready,
            "checks": [
                {**check.to_json(), **({"error": describe(check.error)} if check.error else {})}
                for check in result.checks
            ],
        }
        print(json.dumps(document, indent=2), flush=True)
    else:
        print(f"Checking {api_root} (credentials: {connection.source})")
        width = max(len(check.label) for check in result.checks)
        for check in result.checks:
            text = check.text(describe)
            line = f"{SYMBOLS[check.status]} {check.label:<{width}}  {text}".rstrip()
            print(line)
        failed = result.failed
        if failed is None:
            print(f"Ready: {api_root} can run the tests.")
        else:
            print(f"Not ready: {failed.label.lower()} failed.", file=sys.stderr)
    return cli.EXIT_OK if result.ready else cli.EXIT_API
