"""`bastion retention purge [--dry-run]`: one retention purge pass now (audited as the operator).

Prints what was deleted (or, with --dry-run, what would be, deleting nothing)."""

from __future__ import annotations

import argparse

from bastion.app import Runtime
from bastion.cli.common import add_config_arg, current_operator, run_command


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `retention` command group."""
    retention = commands.add_parser("retention", help="message retention")
    sub = retention.add_subparsers(dest="retention_command", required=True)
    purge = sub.add_parser("purge", help="delete expired messages and old redacted content now")
    purge.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
    )
    purge.set_defaults(handler=lambda a: run_command(a, _purge))
    add_config_arg(purge)


async def _purge(runtime: Runtime, args: argparse.Namespace) -> int:
    report = await runtime.services.retention_purge.run(current_operator(), dry_run=args.dry_run)
    verb = "would delete" if report.dry_run else "deleted"
    print(
        f"{verb} {report.events} expired events in {report.rooms} rooms"
        f" and {report.redacted_originals} redacted originals"
    )
    return 0
