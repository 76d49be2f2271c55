"""`bastion audit verify`: check the audit log's hash chain (exit 0 intact, 1 broken)."""

from __future__ import annotations

import argparse

from bastion.app import Runtime
from bastion.cli.common import add_config_arg, current_operator, run_command


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `audit` command group."""
    audit = commands.add_parser("audit", help="the audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check that no audit record was altered or deleted")
    verify.set_defaults(handler=lambda a: run_command(a, _verify))
    add_config_arg(verify)


async def _verify(runtime: Runtime, _args: argparse.Namespace) -> int:
    report = await runtime.services.audit_log.verify(current_operator())
    if report.intact:
        print(f"audit log intact: {report.records} records")
        return 0
    print(f"audit log BROKEN at record {report.broken_at}: {report.problem}")
    return 1
