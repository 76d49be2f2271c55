"""Events in the client format (spec: client-server-api#room-event-format).

Redaction is applied here, for every reader: a redacted event's content is what the room
version's redaction algorithm keeps, and `unsigned.redacted_because` carries the redaction.
`transaction_id` is shown only to the device that sent the event.
"""

from __future__ import annotations

from bastion.events.model import StoredEvent, StrippedState
from bastion.events.redaction import redact
from bastion.json_types import JsonObject


def client_event(
    event: StoredEvent,
    *,
    room_version: str,
    now_ms: int,
    viewer_device: tuple[str, str] | None = None,
    redaction: JsonObject | None = None,
) -> JsonObject:
    """The event as a client sees it; `redaction` is the client form of its redaction, if any."""
    content = event.content
    if event.redacted_by is not None:
        content = redact({"type": event.type, "content": content}, room_version)["content"]
    out: JsonObject = {
        "content": content,
        "event_id": event.event_id,
        "origin_server_ts": event.origin_server_ts,
        "room_id": event.room_id,
        "sender": event.sender,
        "type": event.type,
    }
    if event.state_key is not None:
        out["state_key"] = event.state_key
    unsigned: JsonObject = {"age": max(0, now_ms - event.origin_server_ts)}
    if event.prev_content is not None:
        unsigned["prev_content"] = event.prev_content
        unsigned["prev_sender"] = event.prev_sender
    if event.replaces_state is not None:
        unsigned["replaces_state"] = event.replaces_state
    if event.txn_id is not None and viewer_device == (event.sender, event.sender_device):
        unsigned["transaction_id"] = event.txn_id
    if redaction is not None:
        unsigned["redacted_because"] = redaction
    if event.type == "m.room.redaction" and "redacts" in content:
        out["redacts"] = content["redacts"]  # v11+ keeps it in content; clients read both
    out["unsigned"] = unsigned
    return out


def stripped_state(event: StoredEvent) -> StrippedState:
    """The stripped form used in invite and knock state."""
    assert event.state_key is not None
    return StrippedState(
        type=event.type, state_key=event.state_key, content=event.content, sender=event.sender
    )
