"""JSON Lines and CSV: one line per event (JSONL) or per message (CSV). Pure.

JSONL is the complete record: every selected event (messages, edits, redactions, state) as
stored, with `redaction` (who redacted it, when, by which event) and `original` (the content
before the redaction, when kept; `original_source` says whether the legal-hold store kept it).

CSV is for people with a spreadsheet: UTF-8 with a byte-order mark (Excel then reads Arabic and
Polish correctly), one row per message, and every cell that starts with `=`, `+`, `-`, `@`, a
tab or a carriage return is prefixed with `'` (OWASP's CSV-injection advice): a message such as
`=HYPERLINK(...)` stays text in Excel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bastion.services.export.message import Message, iso_utc
from bastion.store.protocols.exports import MediaFacts, RoomFacts

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENCRYPTED_NOTE = "[end-to-end encrypted: the server cannot read this message]"

CSV_HEADER = [
    "time_utc", "room_id", "room_name", "event_id", "sender", "type", "msgtype", "body",
    "in_reply_to", "edit_of", "thread_root", "redacted_by", "redacted_at_utc",
    "original_kept", "attachment_mxc", "attachment_sha256", "attachment_file", "encrypted",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Context:
    """What a line needs besides the event: its room, and its attachment if any."""

    room: RoomFacts
    media: MediaFacts | None = None
    media_file: str | None = None  # the attachment's path in the export, when included


def jsonl_line(message: Message, context: Context) -> bytes:
    """One JSON Lines record (with its newline)."""
    stored = message.stored
    record: dict[str, Any] = {"event": message.event}
    if stored.redacted_by is not None:
        record["redaction"] = {
            "redacted_by": stored.redacted_by,
            "sender": stored.redaction_sender,
            "origin_server_ts": stored.redaction_ts,
        }
    if message.original is not None:
        record["original"] = message.original
        record["original_source"] = "legal_hold" if stored.original_held else "redacted_originals"
    if context.room.encrypted:
        record["room_encrypted"] = True
    attachment = message.attachment
    if attachment is not None:
        record["attachment"] = {
            "mxc": attachment.mxc,
            "sha256": context.media.sha256 if context.media else None,
            "file": context.media_file,
        }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def neutralised(cell: str) -> str:
    """`cell`, made inert for spreadsheets when it could start a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_row(message: Message, context: Context) -> list[str]:
    """The CSV row of a message (see CSV_HEADER)."""
    stored, attachment = message.stored, message.attachment
    body = ENCRYPTED_NOTE if message.encrypted else message.text("body")
    cells = [
        iso_utc(stored.origin_server_ts), stored.room_id, context.room.name or "",
        stored.event_id, stored.sender, message.type, message.text("msgtype"), body,
        message.in_reply_to, message.related("m.replace"), message.related("m.thread"),
        stored.redacted_by or "", iso_utc(stored.redaction_ts),
        _original_kept(message),
        attachment.mxc if attachment else "",
        (context.media.sha256 or "") if context.media else "",
        context.media_file or "",
        "yes" if message.encrypted or context.room.encrypted else "no",
    ]  # fmt: skip
    return [neutralised(cell) for cell in cells]


def _original_kept(message: Message) -> str:
    if message.stored.redacted_by is None:
        return ""
    if message.original is None:
        return "no"
    return "legal_hold" if message.stored.original_held else "yes"
