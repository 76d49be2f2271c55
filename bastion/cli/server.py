"""`bastion init`, `serve`, `migrate` and `check-config`: setting up and running the server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import socket
import sys
from pathlib import Path

import uvicorn

from bastion.app import create_serving_app
from bastion.app.http_transport import CoalescingHttpToolsProtocol
from bastion.cli.common import CommandError, add_config_arg, config_path
from bastion.cli.worker_processes import (
    add_serve_args,
    die_with_parent,
    serve_workers,
    with_workers,
)
from bastion.clock import SystemClock
from bastion.config import (
    AuthConfig,
    Config,
    ConfigError,
    ListenConfig,
    client_base_url,
    config_warnings,
    load_config,
    render_toml,
    validate,
)
from bastion.observability import setup_logging
from bastion.server_key import key_id, load_key, write_new_key
from bastion.services.outbound_tls import trusted_authorities
from bastion.store.migrations.runner import latest_version, migrate
from bastion.store.opening import open_database

CONFIG_FILE_NAME = "bastion.toml"
KEY_FILE_NAME = "bastion.signing.key"
SHUTDOWN_GRACE_SECONDS = 5

log = logging.getLogger("bastion")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register init, serve, migrate and check-config."""
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
        add_config_arg(sub)
        sub.set_defaults(handler=handler)
        if name == "serve":
            add_serve_args(sub)


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
    path = config_path(args)
    config = with_workers(load_config(path), args.workers)
    setup_logging(config.logging.level, config.logging.format)
    if args.listen_fd is not None:  # a worker process of `--workers N` (worker_processes.py)
        die_with_parent(args.supervisor_pid)
        return _serve(config, path, socket.socket(fileno=args.listen_fd))
    for warning in config_warnings(config):
        log.warning("%s", warning)
    trusted_authorities()  # a CA variable naming nothing usable: one line now, not a traceback
    sock = _bind(config.listen)
    try:
        asyncio.run(_probe_database(config))
    except BaseException:
        sock.close()
        raise
    if config.server.workers == 1:
        return _serve(config, path, sock)
    with sock:
        return serve_workers(config, path, sock)


def _serve(config: Config, path: Path, sock: socket.socket) -> int:
    """One server process: uvicorn and the app on the listening socket `sock`."""
    try:
        server = uvicorn.Server(
            uvicorn.Config(
                create_serving_app(config, path),
                loop="uvloop",
                http=CoalescingHttpToolsProtocol,  # httptools, one write per response
                log_level=config.logging.level.lower(),
                log_config=None,  # uvicorn's lines go through ours (text or JSON: observability/)
                access_log=False,  # ours is api/access_log.py ([logging] access_log)
                # X-Forwarded-* are read by api/client_address.py, from [listen] trusted_proxies
                # only: uvicorn's middleware would trust 127.0.0.1 whatever the config says.
                proxy_headers=False,
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
    config = load_config(config_path(args))

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
    path = config_path(args)
    config = load_config(path)
    key = load_key(Path(config.signing_key_path))
    trusted_authorities()  # the environment's CA variables, as `serve` reads them
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
