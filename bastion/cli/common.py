"""What every `bastion` subcommand shares: the config argument, running a command on an open
`Runtime`, naming users, the acting operator, and the password prompt."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import pwd
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bastion.app import Runtime
from bastion.config import default_config_path, load_config
from bastion.errors import Errcode, MatrixError
from bastion.services.principal import Operator


class CommandError(Exception):
    """A command cannot go on; the message is the whole story for the operator."""


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $BASTION_CONFIG or ./bastion.toml)",
    )


def config_path(args: argparse.Namespace) -> Path:
    return args.config if args.config is not None else default_config_path()


Command = Callable[[Runtime, argparse.Namespace], Awaitable[int]]


def run_command(args: argparse.Namespace, command: Command, *, ask_password: bool = False) -> int:
    config = load_config(config_path(args))
    if ask_password:
        # Asked before the event loop starts: asyncio.run would turn Ctrl-C into a cancellation
        # that a blocking prompt only notices at the next keystroke.
        args.password = read_password(args.password_stdin)

    async def run() -> int:
        runtime = await Runtime.open(config)
        try:
            return await command(runtime, args)
        finally:
            await runtime.close()

    return asyncio.run(run())


def localpart_of(runtime: Runtime, name: str) -> str:
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


def user_id_of(runtime: Runtime, name: str) -> str:
    return f"@{localpart_of(runtime, name)}:{runtime.config.server_name}"


def current_operator() -> Operator:
    """Who runs this command: the operating-system user of the process, for the audit log."""
    try:
        # The password database, not $USER: the environment is the caller's to set.
        return Operator(pwd.getpwuid(os.getuid()).pw_name)
    except KeyError:  # a uid with no passwd entry (containers)
        return Operator()


def read_password(from_stdin: bool) -> str:
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
