"""`bastion backup --out DIR`, `bastion backup verify DIR`, `bastion restore DIR --dir TARGET`.

The work is in `bastion/backup/`; this module parses, reads the passphrase, prints one line of
result, and audits. A backup is recorded (`backup.create`, by the operator) in the live
database it backs up, a failed one as a failure; a restore (`backup.restore`) in the restored
database. Every BackupError is one `error:` line and exit 1; verify exits 0 when the backup
restores with the counts and hashes of its manifest, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bastion.app import Runtime
from bastion.backup.create import create_backup
from bastion.backup.errors import BackupError
from bastion.backup.restore import restore_backup
from bastion.backup.sealing import Sealing, Unsealing
from bastion.backup.verify import verify_backup
from bastion.cli.common import CommandError, add_config_arg, config_path, current_operator
from bastion.config import load_config


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backup` (with `backup verify`) and `restore`."""
    backup = commands.add_parser("backup", help="back up the running server (online)")
    add_config_arg(backup)
    backup.add_argument("--out", type=Path, help="the new folder to write (must not exist)")
    backup.add_argument(
        "--passphrase-stdin", action="store_true", help="encrypt with a passphrase read from stdin"
    )
    backup.add_argument(
        "--recipient",
        action="append",
        default=[],
        metavar="AGE1...",
        help="encrypt to this age public key (repeatable)",
    )
    backup.set_defaults(handler=cmd_backup)
    sub = backup.add_subparsers(dest="backup_command")
    verify = sub.add_parser("verify", help="restore into a scratch place and check the backup")
    verify.add_argument("source", type=Path, metavar="DIR")
    _add_unsealing_args(verify)
    verify.add_argument(
        "--database-url",
        help="PostgreSQL backups: a server where verify may create a scratch database "
        "(default: the server in the backed-up config)",
    )
    verify.set_defaults(handler=cmd_verify)

    restore = commands.add_parser("restore", help="restore a backup into an empty folder")
    restore.add_argument("source", type=Path, metavar="DIR")
    restore.add_argument("--dir", type=Path, required=True, help="empty or new target folder")
    restore.add_argument(
        "--database-url", help="PostgreSQL backups: the EMPTY database to restore into"
    )
    _add_unsealing_args(restore)
    restore.set_defaults(handler=cmd_restore)


def _add_unsealing_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-stdin", action="store_true", help="read the backup's passphrase from stdin"
    )
    parser.add_argument("--identity", type=Path, help="age identity file (AGE-SECRET-KEY-1...)")


def cmd_backup(args: argparse.Namespace) -> int:
    if args.out is None:
        raise CommandError("give --out DIR (a new folder), or `bastion backup verify DIR`")
    path = config_path(args)
    config = load_config(path)
    sealing = Sealing(_passphrase(args), tuple(args.recipient))

    async def run() -> int:
        runtime = await Runtime.open(config)
        try:
            operator, audit = current_operator(), runtime.services.audit
            target = str(args.out.resolve())
            async with audit.attempt(operator, "backup.create", target):
                manifest = await create_backup(
                    config, path, args.out, sealing, now_ms=runtime.clock.now_ms()
                )
                details = {"counts": manifest.counts.describe(), "encrypted": manifest.encrypted}
                await audit.record_alone(operator, "backup.create", target, details)
        finally:
            await runtime.close()
        encrypted = " (encrypted)" if manifest.encrypted else ""
        print(f"backup written to {args.out}{encrypted}: {manifest.counts.describe()}, "
              f"{len(manifest.files)} files")  # fmt: skip
        return 0

    return _run(run())


def cmd_restore(args: argparse.Namespace) -> int:
    unsealing = _unsealing(args)

    async def run() -> int:
        restored = await restore_backup(
            args.source, args.dir, unsealing, database_url=args.database_url
        )
        runtime = await Runtime.open(load_config(restored.config_path))
        try:
            details = {"source": str(args.source), "counts": restored.manifest.counts.describe()}
            await runtime.services.audit.record_alone(
                current_operator(), "backup.restore", str(args.dir.resolve()), details
            )
        finally:
            await runtime.close()
        print(f"restored {restored.manifest.counts.describe()} into {args.dir}")
        print(f"next: bastion serve --config {restored.config_path}")
        return 0

    return _run(run())


def cmd_verify(args: argparse.Namespace) -> int:
    unsealing = _unsealing(args)

    async def run() -> int:
        verdict = await verify_backup(args.source, unsealing, server_url=args.database_url)
        if verdict.problems:
            print(f"backup {args.source} FAILED verification: " + "; ".join(verdict.problems))
            return 1
        print(f"backup {args.source} verified: {verdict.counts.describe()}, hashes match")
        return 0

    return _run(run())


def _run(work: Coroutine[Any, Any, int]) -> int:
    try:
        result = asyncio.run(work)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # a disk full, a folder not writable: the file and the reason
        where = f"{exc.filename}: " if exc.filename else ""
        raise CommandError(f"{where}{exc.strerror or exc}") from None
    return result


def _unsealing(args: argparse.Namespace) -> Unsealing:
    return Unsealing(_passphrase(args), args.identity)


def _passphrase(args: argparse.Namespace) -> str | None:
    if not args.passphrase_stdin:
        return None
    passphrase = sys.stdin.readline().rstrip("\r\n")
    if not passphrase:
        raise CommandError("no passphrase on stdin")
    return passphrase
