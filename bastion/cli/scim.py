"""`bastion scim-token create --name NAME | list | revoke NAME`: identity providers' SCIM tokens.

`create` prints the token as its last stdout line (scripts take `| tail -n 1`); it is shown only
then. Acting as the `Operator` running the command, audited like the admin API's equivalents.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bastion.app import Runtime
from bastion.cli.common import add_config_arg, current_operator, run_command


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `scim-token` command group."""
    parser = commands.add_parser("scim-token", help="SCIM bearer tokens for identity providers")
    tokens = parser.add_subparsers(dest="scim_token_command", required=True)
    create = tokens.add_parser("create", help="issue a token (printed once, as the last line)")
    create.add_argument("--name", required=True, help="who the token is for, e.g. entra or okta")
    create.set_defaults(handler=lambda a: run_command(a, _create))
    listing = tokens.add_parser("list", help="list tokens by name, with their last use")
    listing.set_defaults(handler=lambda a: run_command(a, _list))
    revoke = tokens.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=lambda a: run_command(a, _revoke))
    for sub in (create, listing, revoke):
        add_config_arg(sub)


async def _create(runtime: Runtime, args: argparse.Namespace) -> int:
    token = await runtime.services.scim.tokens.create(current_operator(), args.name)
    print(f"SCIM token {args.name!r} (shown only now; send it as 'Authorization: Bearer ...'):")
    print(token)
    return 0


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _list(runtime: Runtime, _args: argparse.Namespace) -> int:
    rows = await runtime.services.scim.tokens.list(current_operator())
    if not rows:
        print("no SCIM tokens")
    for row in rows:
        print(f"{row.name}\tcreated {_when(row.created_ts)}\tlast used {_when(row.last_used_ts)}")
    return 0


async def _revoke(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.services.scim.tokens.revoke(current_operator(), args.name)
    print(f"revoked SCIM token {args.name!r}")
    return 0
