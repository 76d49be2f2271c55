"""Events as the server holds them: the signed PDU plus where it sits in the stream."""

from __future__ import annotations

import msgspec

from bastion.json_types import JsonObject


class StoredEvent(msgspec.Struct, frozen=True):
    """A persisted room event.

    `content` is the original content, even when the event has since been redacted:
    readers must go through `serialize.client_event`, which applies the redaction.
    """

    stream_ordering: int
    event_id: str
    room_id: str
    type: str
    sender: str
    content: JsonObject
    origin_server_ts: int
    depth: int
    state_key: str | None = None
    redacted_by: str | None = None
    prev_content: JsonObject | None = None
    prev_sender: str | None = None
    replaces_state: str | None = None
    sender_device: str | None = None
    txn_id: str | None = None

    @property
    def is_state(self) -> bool:
        """True for state events (they have a state_key, possibly empty)."""
        return self.state_key is not None

    @property
    def membership(self) -> str | None:
        """`content.membership` of a member event."""
        value = self.content.get("membership") if self.type == "m.room.member" else None
        return value if isinstance(value, str) else None


class StrippedState(msgspec.Struct, frozen=True):
    """The stripped state events invites and knocks carry (spec: #stripped-state)."""

    type: str
    state_key: str
    content: JsonObject
    sender: str
