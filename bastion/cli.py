"""The `bastion` command: argument parsing and output only; the work is in services.

bastion init [--server-name NAME] [--dir DIR]
bastion serve | migrate | check-config [--config FILE]
bastion user create NAME [--admin] [--password-stdin] | list | deactivate NAME
            | reset-password NAME [--password-stdin]
bastion registration-token create [--uses N] [--expires-in-days D] | list | delete TOKEN

Every failure an operator can cause (a bad config, an unreachable database, a busy port, Ctrl-C or
Ctrl-D at the password prompt) ends with one `error: ...` line on stderr and a non-zero exit,
never a traceback. Warnings (a setting that is probably wrong) are `warning: ...` lines.
Account and registration-token commands act as an `Operator` named by the process's OS user.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import math
import os
import pwd
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from bastion.app import Runtime, create_serving_app
from bastion.clock import SystemClock
from bastion.config import (
    AuthConfig,
    Config,
    ConfigError,
    ListenConfig,
    client_base_url,
    config_warnings,
    default_config_path,
    load_config,
    render_toml,
    validate,
)
from bastion.errors import Errcode, MatrixError
from bastion.observability import setup_logging
from bastion.server_key import SigningKeyError, key_id, load_key, write_new_key
from bastion.services.principal import Operator
from bastion.store.database import DatabaseUnavailable, open_database
from bastion.store.migrations.runner import latest_version, migrate

CONFIG_FILE_NAME = "bastion.toml"
KEY_FILE_NAME = "bastion.signing.key"
MAX_TOKEN_DAYS = 3650
SHUTDOWN_GRACE_SECONDS = 5
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

log = logging.getLogger("bastion")


class CommandError(Exception):
    """A command cannot go on; the message is the whole story for the operator."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bastion` console script."""
    args = _parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except (ConfigError, SigningKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (CommandError, DatabaseUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except MatrixError as exc:
        print(f"error: {exc.message} ({exc.errcode})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C mid-line (at a prompt): end that line first.
        print("\nerror: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bastion", description="Bastion Matrix homeserver")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="write a new config and signing key")
    init.add_argument("--server-name", default="localhost")
    init.add_argument("--dir", default=".", type=Path)
    init.set_defaults(handler=cmd_init)

    for name, handler, text in (
        ("serve", cmd_serve, "run the server"),
        ("migrate", cmd_migrate, "apply database migrations"),
        ("check-config", cmd_check_config, "validate the config file"),
    ):
        sub = commands.add_parser(name, help=text)
        _add_config_arg(sub)
        sub.set_defaults(handler=handler)

    _add_user_commands(commands.add_parser("user", help="manage accounts"))
    _add_token_commands(
        commands.add_parser("registration-token", help="manage registration tokens")
    )
    return parser


def _add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $BASTION_CONFIG or ./bastion.toml)",
    )


def _add_user_commands(parser: argparse.ArgumentParser) -> None:
    users = parser.add_subparsers(dest="user_command", required=True)
    create = users.add_parser("create", help="create an account")
    create.add_argument("name", help="localpart or full user ID")
    create.add_argument("--admin", action="store_true")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(handler=lambda a: _run(a, _user_create, ask_password=True))
    listing = users.add_parser("list", help="list accounts")
    listing.set_defaults(handler=lambda a: _run(a, _user_list))
    deactivate = users.add_parser("deactivate", help="deactivate an account and end its sessions")
    deactivate.add_argument("name")
    deactivate.set_defaults(handler=lambda a: _run(a, _user_deactivate))
    reset = users.add_parser("reset-password", help="set a new password and end all sessions")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(handler=lambda a: _run(a, _user_reset_password, ask_password=True))
    for sub in (create, listing, deactivate, reset):
        _add_config_arg(sub)


def _add_token_commands(parser: argparse.ArgumentParser) -> None:
    tokens = parser.add_subparsers(dest="token_command", required=True)
    create = tokens.add_parser("create", help="create a registration token")
    create.add_argument(
        "--uses", type=int, default=None, help="times it can be used (default: unlimited)"
    )
    create.add_argument("--expires-in-days", type=float, default=None)
    create.add_argument("--token", default=None, help="the token text (default: random)")
    create.set_defaults(handler=lambda a: _run(a, _token_create))
    listing = tokens.add_parser("list", help="list registration tokens")
    listing.set_defaults(handler=lambda a: _run(a, _token_list))
    delete = tokens.add_parser("delete", help="revoke a registration token")
    delete.add_argument("token")
    delete.set_defaults(handler=lambda a: _run(a, _token_delete))
    for sub in (create, listing, delete):
        _add_config_arg(sub)


def _config_path(args: argparse.Namespace) -> Path:
    return args.config if args.config is not None else default_config_path()


def cmd_init(args: argparse.Namespace) -> int:
    """Write bastion.toml and the signing key into --dir."""
    directory: Path = args.dir
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / CONFIG_FILE_NAME
    key_path = directory / KEY_FILE_NAME
    if config_path.exists():
        print(f"error: {config_path} already exists; not overwriting it", file=sys.stderr)
        return 1
    config = Config(
        server_name=args.server_name,
        signing_key_path=KEY_FILE_NAME,
        auth=AuthConfig(token_hmac_key=secrets.token_urlsafe(32)),
    )
    try:
        validate(config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not key_path.exists():
        new_key_id = write_new_key(key_path)
        print(f"wrote signing key {new_key_id} to {key_path}")
    config_path.write_text(render_toml(config), encoding="utf-8")
    config_path.chmod(0o600)
    print(f"wrote {config_path} for server {config.server_name}")
    print(f"next: bastion serve --config {config_path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server under uvicorn (uvloop + httptools).

    The port is bound and the database opened once before anything is served or logged as
    serving, so a busy port or an unreachable database is one `error:` line, not a traceback.
    """
    path = _config_path(args)
    config = load_config(path)
    setup_logging(config.logging.level)
    for warning in config_warnings(config):
        log.warning("%s", warning)
    sock = _bind(config.listen)
    try:
        asyncio.run(_probe_database(config))
        server = uvicorn.Server(
            uvicorn.Config(
                create_serving_app(config, path),
                loop="uvloop",
                http="httptools",
                log_level=config.logging.level.lower(),
                access_log=False,  # ours is api/access_log.py ([logging] access_log)
                lifespan="on",
                # Long polls still open at shutdown are cut after this; clients simply sync again.
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            )
        )
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0 if server.started else 1


def _bind(listen: ListenConfig) -> socket.socket:
    """The listening socket for `[listen]`, bound now (uvicorn listens on it)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen.host, listen.port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise CommandError(
            f"cannot listen on {listen.host}:{listen.port}: {reason} (is another server "
            "running? change [listen] port)"
        ) from exc
    sock.set_inheritable(True)
    return sock


async def _probe_database(config: Config) -> None:
    """Open and close the database: DatabaseUnavailable if it cannot be reached."""
    db = await open_database(config.database.url, schema=config.database.schema, pool_size=1)
    await db.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and say which."""
    config = load_config(_config_path(args))

    async def run() -> list[int]:
        db = await open_database(config.database.url, schema=config.database.schema, pool_size=2)
        try:
            return await migrate(db, SystemClock().now_ms())
        finally:
            await db.close()

    applied = asyncio.run(run())
    if applied:
        print("applied migrations: " + ", ".join(f"{v:04d}" for v in applied))
    else:
        print("database is up to date")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Load and validate the config and the signing key; print a summary."""
    path = _config_path(args)
    config = load_config(path)
    key = load_key(Path(config.signing_key_path))
    dialect = "sqlite" if config.database.url.startswith("sqlite") else "postgres"
    print(f"config {path} is valid")
    print(f"  server_name:   {config.server_name}")
    print(f"  listen:        {config.listen.host}:{config.listen.port}")
    print(f"  public URL:    {client_base_url(config)}")
    print(f"  database:      {dialect} (schema version {latest_version(dialect):04d} expected)")
    print(f"  registration:  {config.registration.mode}")
    print(f"  signing key:   {key_id(key)}")
    for warning in config_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


Command = Callable[[Runtime, argparse.Namespace], Awaitable[int]]


def _run(args: argparse.Namespace, command: Command, *, ask_password: bool = False) -> int:
    config = load_config(_config_path(args))
    if ask_password:
        # Asked before the event loop starts: asyncio.run would turn Ctrl-C into a cancellation
        # that a blocking prompt only notices at the next keystroke.
        args.password = _read_password(args.password_stdin)

    async def run() -> int:
        runtime = await Runtime.open(config)
        try:
            return await command(runtime, args)
        finally:
            await runtime.close()

    return asyncio.run(run())


def _localpart(runtime: Runtime, name: str) -> str:
    """The localpart a CLI argument names: `alice`, `Alice` or `@alice:this.server`."""
    server_name = runtime.config.server_name
    if name.startswith("@"):
        localpart, _, server = name[1:].partition(":")
        if server != server_name:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"{name} is not on this server ({server_name})"
            )
        name = localpart
    return name.lower()


def _user_id(runtime: Runtime, name: str) -> str:
    return f"@{_localpart(runtime, name)}:{runtime.config.server_name}"


def _current_operator() -> Operator:
    """Who runs this command: the operating-system user of the process, for the audit log."""
    try:
        # The password database, not $USER: the environment is the caller's to set.
        return Operator(pwd.getpwuid(os.getuid()).pw_name)
    except KeyError:  # a uid with no passwd entry (containers)
        return Operator()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise MatrixError(400, Errcode.MISSING_PARAM, "no terminal to ask on: use --password-stdin")
    try:
        first = getpass.getpass("Password: ")
        repeated = getpass.getpass("Repeat password: ")
    except EOFError:  # Ctrl-D: end the prompt's line first
        print(file=sys.stderr)
        raise CommandError("no password given") from None
    if first != repeated:
        raise MatrixError(400, Errcode.INVALID_PARAM, "the passwords do not match")
    return first


async def _user_create(runtime: Runtime, args: argparse.Namespace) -> int:
    localpart = _localpart(runtime, args.name)
    user_id = await runtime.services.accounts.create_user(
        _current_operator(), localpart, args.password, is_admin=args.admin
    )
    print(f"created {'admin ' if args.admin else ''}{user_id}")
    return 0


async def _user_list(runtime: Runtime, _args: argparse.Namespace) -> int:
    for user in await runtime.services.accounts.list_users(_current_operator()):
        flags = [
            f for f, on in (("admin", user.is_admin), ("deactivated", user.is_deactivated)) if on
        ]
        created = datetime.fromtimestamp(user.created_ts / 1000, tz=UTC).strftime("%Y-%m-%d")
        print(f"{user.user_id}\t{created}\t{','.join(flags)}")
    return 0


async def _user_deactivate(runtime: Runtime, args: argparse.Namespace) -> int:
    user_id = _user_id(runtime, args.name)
    await runtime.services.accounts.deactivate(_current_operator(), user_id)
    print(f"deactivated {user_id}; all of its sessions have ended")
    return 0


async def _user_reset_password(runtime: Runtime, args: argparse.Namespace) -> int:
    user_id = _user_id(runtime, args.name)
    await runtime.services.accounts.get_user(user_id)
    await runtime.services.accounts.set_password(
        _current_operator(), user_id, args.password, keep_device_id=None
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
        _current_operator(), uses_allowed=args.uses, expiry_ts=expiry_ts, token=args.token
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
    for record in await runtime.services.registration.list_tokens(_current_operator()):
        uses = "unlimited" if record.uses_allowed is None else str(record.uses_allowed)
        expiry = "never"
        if record.expiry_ts is not None:
            expiry = datetime.fromtimestamp(record.expiry_ts / 1000, tz=UTC).isoformat()
        print(f"{record.token}\tused {record.completed} of {uses}\texpires {expiry}")
    return 0


async def _token_delete(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.services.registration.delete_token(_current_operator(), args.token)
    print(f"deleted {args.token}")
    return 0
