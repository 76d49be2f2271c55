"""`bastion export --room R --user U --since T --until T --format F --out DIR [--include-media]`.

Writes a compliance export (services/export/) into DIR (which must not exist or be empty) as
plain files plus `manifest.json`, audited as the operator. Progress goes to stderr: a bar
redrawn in place on a terminal, a plain line every 10 % otherwise (logs, pipes).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bastion.app import Runtime
from bastion.cli.common import CommandError, add_config_arg, current_operator, run_command
from bastion.services.export.request import ExportRequest

_BAR_WIDTH = 30


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `export` command."""
    export = commands.add_parser("export", help="compliance export of conversations")
    export.add_argument("--room", action="append", default=[], help="a room ID (repeatable)")
    export.add_argument("--user", action="append", default=[], help="a sender (repeatable)")
    export.add_argument("--since", type=_time, help="from (ISO 8601 date/time, or ms)")
    export.add_argument("--until", type=_time, help="until, excluded (ISO 8601, or ms)")
    export.add_argument("--format", choices=["jsonl", "csv", "eml"], default="jsonl")
    export.add_argument("--include-media", action="store_true", help="copy attachments")
    export.add_argument("--out", type=Path, required=True, help="folder to write (new or empty)")
    export.set_defaults(handler=lambda a: run_command(a, _export))
    add_config_arg(export)


def _time(raw: str) -> int:
    """Milliseconds since the epoch from `1733385600000`, `2026-12-01` or an ISO date-time
    (UTC unless it says otherwise)."""
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class ProgressBar:
    """Progress on `stream`: redrawn in place on a terminal, a line per 10 % otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._last_decile = -1

    async def __call__(self, done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 1.0
        if self._tty:
            filled = int(fraction * _BAR_WIDTH)
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            self._stream.write(f"\r[{bar}] {fraction:4.0%} {done}/{total}")
        elif (decile := int(fraction * 10)) > self._last_decile:
            self._last_decile = decile
            self._stream.write(f"export: {fraction:.0%} ({done}/{total})\n")
        self._stream.flush()

    def end(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


async def _export(runtime: Runtime, args: argparse.Namespace) -> int:
    request = ExportRequest(
        rooms=args.room, users=args.user, from_ts=args.since, to_ts=args.until,
        format=args.format, include_media=args.include_media,
    )  # fmt: skip
    bar = ProgressBar(sys.stderr)
    try:
        files = await runtime.services.exports.export_to_folder(
            current_operator(), request, args.out, bar
        )
    except FileExistsError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bar.end()
    print(f"exported to {args.out}: {', '.join(files)}")
    return 0
