"""The `bastion` command: argument parsing and output only; the work is in services.

bastion init [--server-name NAME] [--dir DIR]
bastion serve | migrate | check-config [--config FILE]
bastion user create NAME [--admin] [--password-stdin] | list | deactivate NAME
            | reset-password NAME [--password-stdin]
bastion registration-token create [--uses N] [--expires-in-days D] | list | delete TOKEN
bastion audit verify
bastion retention purge [--dry-run]
bastion export [--room R] [--user U] [--since T] [--until T] [--format F] --out DIR
bastion scim-token create --name NAME | list | revoke NAME
bastion backup --out DIR [--passphrase-stdin] [--recipient AGE1...] | verify DIR
bastion restore DIR --dir TARGET [--database-url URL] [--passphrase-stdin | --identity FILE]
bastion migrate-db --to postgresql://... [--schema S] [--batch N]

Every failure an operator can cause (a bad config, an unreachable database, a busy port, Ctrl-C or
Ctrl-D at the password prompt) ends with one `error: ...` line on stderr and a non-zero exit,
never a traceback. Warnings (a setting that is probably wrong) are `warning: ...` lines.
Commands that change accounts act as an `Operator` named by the process's OS user, and are
audited under that name. One module per command group registers its subcommands.
"""

from __future__ import annotations

import argparse
import sys

from bastion.cli import accounts, audit, backup, export, migrate_db, retention, scim, server
from bastion.cli.common import CommandError
from bastion.config import ConfigError
from bastion.errors import MatrixError
from bastion.server_key import SigningKeyError
from bastion.store.database import DatabaseUnavailable

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


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
    for group in (server, accounts, audit, scim, retention, backup, export, migrate_db):
        group.add_commands(commands)
    return parser
