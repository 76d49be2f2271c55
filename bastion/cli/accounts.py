"""`bastion user ...` and `bastion registration-token ...`: accounts, as an `Operator`."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime

from bastion.app import Runtime
from bastion.cli.common import (
    add_config_arg,
    current_operator,
    localpart_of,
    run_command,
    user_id_of,
)
from bastion.clock import SystemClock
from bastion.errors import Errcode, MatrixError
from bastion.services.admin.users import UserListQuery

MAX_TOKEN_DAYS = 3650
LIST_PAGE = 500


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `user` and `registration-token` command groups."""
    _add_user_commands(commands.add_parser("user", help="manage accounts"))
    _add_token_commands(
        commands.add_parser("registration-token", help="manage registration tokens")
    )


def _add_user_commands(parser: argparse.ArgumentParser) -> None:
    users = parser.add_subparsers(dest="user_command", required=True)
    create = users.add_parser("create", help="create an account")
    create.add_argument("name", help="localpart or full user ID")
    create.add_argument("--admin", action="store_true")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(handler=lambda a: run_command(a, _user_create, ask_password=True))
    listing = users.add_parser("list", help="list accounts")
    listing.set_defaults(handler=lambda a: run_command(a, _user_list))
    deactivate = users.add_parser(
        "deactivate", help="offboard an account: end its sessions, hand its rooms over, leave them"
    )
    deactivate.add_argument("name")
    deactivate.add_argument(
        "--erase", action="store_true", help="also clear the profile and erase the messages"
    )
    deactivate.set_defaults(handler=lambda a: run_command(a, _user_deactivate))
    reset = users.add_parser("reset-password", help="set a new password and end all sessions")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(handler=lambda a: run_command(a, _user_reset_password, ask_password=True))
    unlock = users.add_parser(
        "unlock", help="end a lockout after wrong passwords or an admin's lock (password kept)"
    )
    unlock.add_argument("name")
    unlock.set_defaults(handler=lambda a: run_command(a, _user_unlock))
    for sub in (create, listing, deactivate, reset, unlock):
        add_config_arg(sub)


def _add_token_commands(parser: argparse.ArgumentParser) -> None:
    tokens = parser.add_subparsers(dest="token_command", required=True)
    create = tokens.add_parser("create", help="create a registration token")
    create.add_argument(
        "--uses", type=int, default=None, help="times it can be used (default: unlimited)"
    )
    create.add_argument("--expires-in-days", type=float, default=None)
    create.add_argument("--token", default=None, help="the token text (default: random)")
    create.set_defaults(handler=lambda a: run_command(a, _token_create))
    listing = tokens.add_parser("list", help="list registration tokens")
    listing.set_defaults(handler=lambda a: run_command(a, _token_list))
    delete = tokens.add_parser("delete", help="revoke a registration token")
    delete.add_argument("token")
    delete.set_defaults(handler=lambda a: run_command(a, _token_delete))
    for sub in (create, listing, delete):
        add_config_arg(sub)


async def _user_create(runtime: Runtime, args: argparse.Namespace) -> int:
    localpart = localpart_of(runtime, args.name)
    user_id = await runtime.services.accounts.create_user(
        current_operator(), localpart, args.password, is_admin=args.admin
    )
    print(f"created {'admin ' if args.admin else ''}{user_id}")
    return 0


async def _user_list(runtime: Runtime, _args: argparse.Namespace) -> int:
    """One line per account: user ID, creation date, flags (admin, deactivated, locked,
    shadow-banned)."""
    operator, start = current_operator(), 0
    while True:
        page = UserListQuery(start=start, limit=LIST_PAGE)
        rows, total = await runtime.services.admin_users.list_users(operator, page)
        for user in rows:
            flags = (
                ("admin", user.is_admin),
                ("deactivated", user.is_deactivated),
                ("locked", user.is_locked),
                ("shadow-banned", user.shadow_banned),
            )
            created = datetime.fromtimestamp(user.created_ts / 1000, tz=UTC).strftime("%Y-%m-%d")
            print(f"{user.user_id}\t{created}\t{','.join(f for f, on in flags if on)}")
        start += len(rows)
        if not rows or start >= total:
            return 0


async def _user_unlock(runtime: Runtime, args: argparse.Namespace) -> int:
    user_id = user_id_of(runtime, args.name)
    await runtime.services.admin_users.set_locked(current_operator(), user_id, False)
    print(f"unlocked {user_id}; its password is unchanged")
    return 0


async def _user_deactivate(runtime: Runtime, args: argparse.Namespace) -> int:
    user_id = user_id_of(runtime, args.name)
    report = await runtime.services.offboarding.offboard(
        current_operator(), user_id, erase=args.erase
    )
    print(f"deactivated {user_id}; all of its sessions have ended (job {report.job_id})")
    print(f"sessions revoked: {report.sessions_revoked}, pushers removed: {report.pushers_removed}")
    for room_id, successor in sorted(report.successors_promoted.items()):
        print(f"successor promoted in {room_id}: {successor}")
    for room_id in report.rooms_without_successor:
        print(f"NO successor found in {room_id}: the room has no admin left")
    print(
        f"rooms left: {len(report.rooms_left)}, invites rejected: "
        f"{len(report.invites_rejected)}, knocks withdrawn: {len(report.knocks_withdrawn)}"
    )
    if report.erase:
        print(
            f"messages erased: {report.events_redacted}, kept by legal hold: {report.events_held}"
        )
    return 0


async def _user_reset_password(runtime: Runtime, args: argparse.Namespace) -> int:
    user_id = user_id_of(runtime, args.name)
    await runtime.services.accounts.get_user(user_id)
    await runtime.services.accounts.set_password(
        current_operator(), user_id, args.password, keep_device_id=None
    )
    print(f"password of {user_id} reset; all of its sessions have ended")
    return 0


async def _token_create(runtime: Runtime, args: argparse.Namespace) -> int:
    expiry_ts = None
    if args.expires_in_days is not None:
        days = args.expires_in_days
        if not (math.isfinite(days) and 0 < days <= MAX_TOKEN_DAYS):
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"--expires-in-days must be a number of days between 0 and {MAX_TOKEN_DAYS}",
            )
        expiry_ts = SystemClock().now_ms() + int(args.expires_in_days * 86_400_000)
    token = await runtime.services.registration.create_token(
        current_operator(), uses_allowed=args.uses, expiry_ts=expiry_ts, token=args.token
    )
    print(token)
    mode = runtime.config.registration.mode
    if mode != "token":
        print(
            f"warning: registration.mode is {mode!r}, so nobody can register with this token "
            "until it is set to 'token' (and the server restarted)",
            file=sys.stderr,
        )
    return 0


async def _token_list(runtime: Runtime, _args: argparse.Namespace) -> int:
    for record in await runtime.services.registration.list_tokens(current_operator()):
        uses = "unlimited" if record.uses_allowed is None else str(record.uses_allowed)
        expiry = "never"
        if record.expiry_ts is not None:
            expiry = datetime.fromtimestamp(record.expiry_ts / 1000, tz=UTC).isoformat()
        print(f"{record.token}\tused {record.completed} of {uses}\texpires {expiry}")
    return 0


async def _token_delete(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.services.registration.delete_token(current_operator(), args.token)
    print(f"deleted {args.token}")
    return 0
