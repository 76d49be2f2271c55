"""Building a complete, signed PDU for a new event.

spec: server-server-api#pdus and #signing-events. The content hash covers the full event; the
signature and the event ID (reference hash) cover the redacted event, so a redaction never
invalidates either. A v12 create event has no `room_id`: the room ID is derived from its event ID.
"""

from __future__ import annotations

from dataclasses import dataclass

from signedjson.types import SigningKey

from bastion.events.canonical import content_hash, reference_hash_event_id, sign_redacted
from bastion.events.redaction import redact
from bastion.json_types import JsonObject


@dataclass(frozen=True, slots=True)
class EventDraft:
    """What a new event says, before the server places it in the room's graph."""

    type: str
    sender: str
    content: JsonObject
    state_key: str | None = None
    # An application service's `ts` (spec: application-service-api#timestamp-massaging): the
    # event's origin_server_ts instead of now; the event is still appended at the room's end.
    origin_server_ts: int | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a new event goes: its room, parents, auth events and time."""

    room_id: str | None
    room_version: str
    prev_events: list[str]
    auth_events: list[str]
    depth: int
    origin_server_ts: int


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """Who signs: the server name and its signing key."""

    server_name: str
    key: SigningKey


def build_pdu(
    draft: EventDraft, placement: Placement, identity: ServerIdentity
) -> tuple[str, JsonObject]:
    """Return (event_id, signed PDU)."""
    pdu: JsonObject = {
        "auth_events": placement.auth_events,
        "content": draft.content,
        "depth": placement.depth,
        "origin_server_ts": placement.origin_server_ts,
        "prev_events": placement.prev_events,
        "sender": draft.sender,
        "type": draft.type,
    }
    if placement.room_id is not None:
        pdu["room_id"] = placement.room_id
    if draft.state_key is not None:
        pdu["state_key"] = draft.state_key
    pdu["hashes"] = {"sha256": content_hash(pdu)}
    redacted = redact(pdu, placement.room_version)
    pdu["signatures"] = sign_redacted(redacted, identity.server_name, identity.key)
    return reference_hash_event_id(redacted), pdu


def room_id_from_create_event_id(event_id: str) -> str:
    """The v12 room ID: the create event's ID with `!` instead of `$`."""
    return "!" + event_id[1:]
