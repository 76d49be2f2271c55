"""`bastion migrate-db --to postgresql://...`: move the configured SQLite database to PostgreSQL
(the work is in migrate_db/; this prints its progress, the counts and the config change).

Exit 0 when every table's count matches; 1 (with the counts printed) when they differ or the
move is refused (an `error:` line says why).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bastion.cli.common import CommandError, add_config_arg, config_path
from bastion.clock import SystemClock
from bastion.config import load_config, sqlite_path
from bastion.migrate_db import MigrationRefused, MigrationReport, migrate_to_postgres
from bastion.migrate_db.copy import DEFAULT_BATCH, CountMismatch
from bastion.store.database import redacted_url


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register migrate-db."""
    sub = commands.add_parser(
        "migrate-db",
        help="move the SQLite database to an empty PostgreSQL database (server stopped)",
    )
    sub.add_argument("--to", required=True, metavar="URL", help="postgresql://user:pw@host/db")
    sub.add_argument("--schema", default="", help="PostgreSQL schema to fill (default: public)")
    sub.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per statement")
    add_config_arg(sub)
    sub.set_defaults(handler=cmd_migrate_db)


def _progress(line: str) -> None:
    print(line, flush=True)


def print_counts(report: MigrationReport) -> None:
    """The table of counts per table, both sides."""
    width = max(len(count.table) for count in report.counts)
    print(f"{'table':<{width}}  {'sqlite':>10}  {'postgresql':>10}")
    for count in report.counts:
        mark = "" if count.matches else "  MISMATCH"
        print(f"{count.table:<{width}}  {count.source:>10}  {count.target:>10}{mark}")


def cmd_migrate_db(args: argparse.Namespace) -> int:
    """Copy every table, verify the counts, print the config change."""
    path = config_path(args)
    config = load_config(path)
    if not config.database.url.startswith("sqlite:///"):
        raise CommandError(f"{path}: [database] url is not SQLite: nothing to move")
    if args.batch < 1:
        raise CommandError("--batch must be at least 1")
    source = Path(sqlite_path(config.database.url))
    print(f"moving {source} to {redacted_url(args.to)}", flush=True)
    try:
        report = asyncio.run(
            migrate_to_postgres(
                source,
                args.to,
                schema=args.schema,
                batch=args.batch,
                progress=_progress,
                now_ms=SystemClock().now_ms(),
            )
        )
    except CountMismatch as exc:
        print_counts(exc.report)
        raise CommandError(str(exc)) from None
    except MigrationRefused as exc:
        raise CommandError(str(exc)) from None
    print_counts(report)
    print(f"every count matches; stream position {report.stream_position} carried over")
    print(f"\nnow change {path} (the server stays stopped until then):\n")
    print("[database]")
    shown = redacted_url(args.to)
    print(f'url = "{shown}"' + ("  # *** is your password" if shown != args.to else ""))
    if args.schema:
        print(f'schema = "{args.schema}"')
    print(f"\nmedia files stay in {config.media.store_path}; {source} is left as it was.")
    return 0
