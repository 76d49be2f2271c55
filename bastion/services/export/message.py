"""What an exported event says, read once from its stored PDU: the facts every format uses.

Pure (no I/O). A "message" is what a person would call one: `m.room.message`, `m.sticker`, or
`m.room.encrypted` (whose text the server cannot read: only its metadata is exported). The
text of a redacted message is its original (from the legal-hold store or the redacted-originals
table) when one is still kept; `original_held` says which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bastion.store.protocols.exports import ExportedEvent

MESSAGE_TYPES = frozenset({"m.room.message", "m.sticker", "m.room.encrypted"})
ENCRYPTED = "m.room.encrypted"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a message points at."""

    mxc: str
    server_name: str
    media_id: str


@dataclass(frozen=True, slots=True)
class Message:
    """One exported event's facts."""

    stored: ExportedEvent
    event: dict[str, Any]  # the stored PDU with event_id and room_id
    original: dict[str, Any] | None  # the original PDU of a redacted event, when kept
    type: str

    @property
    def is_message(self) -> bool:
        return self.type in MESSAGE_TYPES

    @property
    def encrypted(self) -> bool:
        return self.type == ENCRYPTED

    @property
    def content(self) -> dict[str, Any]:
        """The content as sent: the original's when the event was redacted and it is kept."""
        source = self.original if self.original is not None else self.event
        content = source.get("content")
        return content if isinstance(content, dict) else {}

    def text(self, key: str) -> str:
        value = self.content.get(key)
        return value if isinstance(value, str) else ""

    @property
    def relates_to(self) -> dict[str, Any]:
        relation = self.content.get("m.relates_to")
        return relation if isinstance(relation, dict) else {}

    @property
    def in_reply_to(self) -> str:
        reply = self.relates_to.get("m.in_reply_to")
        target = reply.get("event_id") if isinstance(reply, dict) else None
        return target if isinstance(target, str) else ""

    def related(self, rel_type: str) -> str:
        """The event this one relates to with `rel_type` (m.replace: an edit; m.thread)."""
        target = self.relates_to.get("event_id")
        if self.relates_to.get("rel_type") == rel_type and isinstance(target, str):
            return target
        return ""

    @property
    def attachment(self) -> Attachment | None:
        url = self.content.get("url")
        if not isinstance(url, str) or not url.startswith("mxc://"):
            return None
        server_name, _, media_id = url.removeprefix("mxc://").partition("/")
        if not server_name or not media_id or "/" in media_id:
            return None
        return Attachment(url, server_name, media_id)


def read_message(stored: ExportedEvent) -> Message:
    """The facts of `stored` (its PDU parsed once)."""
    event = _parsed(stored.pdu) or {}
    event["event_id"] = stored.event_id
    event["room_id"] = stored.room_id
    original = _parsed(stored.original_pdu) if stored.original_pdu is not None else None
    if original is not None:
        original["event_id"] = stored.event_id
        original["room_id"] = stored.room_id
    kind = event.get("type")
    return Message(stored, event, original, kind if isinstance(kind, str) else "")


def _parsed(pdu: str | None) -> dict[str, Any] | None:
    if pdu is None:
        return None
    value = json.loads(pdu)
    return value if isinstance(value, dict) else None


def iso_utc(ts_ms: int | None) -> str:
    """`2026-12-05T06:01:02.345Z` (empty for None)."""
    if ts_ms is None:
        return ""
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
