"""What the room directory and room summaries say about a room, read from its current state.

Pure: given the room's state events of `DESCRIBING_TYPES` (empty state key) and its joined member
count, build the spec's `PublishedRoomsChunk` or `RoomSummary`
(spec: client-server-api#get_matrixclientv3publicrooms). Redacted state events count as
redacted: a redacted name is no name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from bastion.events.join_rules import admits_through_rooms, allowed_room_ids
from bastion.events.model import StoredEvent
from bastion.events.redaction import redact
from bastion.events.types import EventType, HistoryVisibility
from bastion.services.search.normalize import normalize

DESCRIBING_TYPES = (
    EventType.CREATE, EventType.NAME, EventType.TOPIC, EventType.CANONICAL_ALIAS,
    EventType.AVATAR, EventType.JOIN_RULES, EventType.HISTORY_VISIBILITY,
    EventType.GUEST_ACCESS, EventType.ENCRYPTION,
)  # fmt: skip


class PublishedRoom(msgspec.Struct, frozen=True, omit_defaults=True):
    """One entry of `/publicRooms`' `chunk`; optional fields are left out when unset."""

    room_id: str
    num_joined_members: int
    world_readable: bool
    guest_can_join: bool
    name: str | None = None
    topic: str | None = None
    canonical_alias: str | None = None
    avatar_url: str | None = None
    join_rule: str | None = None
    room_type: str | None = None


class RoomSummary(PublishedRoom, frozen=True, omit_defaults=True):
    """`GET /room_summary/{roomIdOrAlias}`: a directory entry plus version, encryption and the
    requester's membership."""

    room_version: str | None = None
    encryption: str | None = None
    membership: str | None = None
    allowed_room_ids: list[str] | None = None  # spec v1.15: a restricted room's allowed rooms


class RoomDescription(msgspec.Struct, frozen=True):
    """A room's directory entry, with what summaries add and what search reads."""

    entry: PublishedRoom
    room_version: str | None
    encryption: str | None
    # a restricted room's rooms whose members may join it (its join rule's `allow`); else []
    allowed_room_ids: list[str] = msgspec.field(default_factory=list)

    def matches(self, folded_words: list[str]) -> bool:
        """True when every (normalised) word occurs in the name, topic or canonical alias."""
        e = self.entry
        text = normalize(" ".join(t for t in (e.name, e.topic, e.canonical_alias) if t))
        return all(word in text for word in folded_words)

    def summary(self, membership: str | None) -> RoomSummary:
        """The room summary for a requester with this membership (None: unauthenticated)."""
        return RoomSummary(
            **msgspec.structs.asdict(self.entry),
            room_version=self.room_version,
            encryption=self.encryption,
            membership=membership,
            allowed_room_ids=self.allowed_room_ids or None,
        )


def describe(
    room_id: str, state: Iterable[StoredEvent], num_joined_members: int
) -> RoomDescription:
    """Describe one room from its state events (others' rooms' events are ignored)."""
    events = {e.type: e for e in state if e.room_id == room_id and e.state_key == ""}
    create = events.get(EventType.CREATE)
    version = _string(create.content, "room_version") if create is not None else None
    content = {t: _content(e, version or "11") for t, e in events.items()}
    visibility = _string(content.get(EventType.HISTORY_VISIBILITY), "history_visibility")
    entry = PublishedRoom(
        room_id=room_id,
        num_joined_members=num_joined_members,
        world_readable=visibility == HistoryVisibility.WORLD_READABLE,
        guest_can_join=_string(content.get(EventType.GUEST_ACCESS), "guest_access") == "can_join",
        name=_string(content.get(EventType.NAME), "name"),
        topic=_plain_topic(content.get(EventType.TOPIC)),
        canonical_alias=_string(content.get(EventType.CANONICAL_ALIAS), "alias"),
        avatar_url=_string(content.get(EventType.AVATAR), "url"),
        join_rule=_string(content.get(EventType.JOIN_RULES), "join_rule"),
        room_type=_string(content.get(EventType.CREATE), "type"),
    )
    encryption = _string(content.get(EventType.ENCRYPTION), "algorithm")
    allowed = (  # only where the join rule admits through rooms (its version has it)
        allowed_room_ids(content.get(EventType.JOIN_RULES))
        if admits_through_rooms(entry.join_rule, version or "11")
        else []
    )
    return RoomDescription(entry, version, encryption, allowed)


def _content(event: StoredEvent, room_version: str) -> dict[str, Any]:
    if event.redacted_by is None:
        return event.content
    redacted: dict[str, Any] = redact({"type": event.type, "content": event.content}, room_version)
    return dict(redacted["content"])


def _string(content: dict[str, Any] | None, key: str) -> str | None:
    """A non-empty string field, or None."""
    value = content.get(key) if content is not None else None
    return value if isinstance(value, str) and value else None


def _plain_topic(content: dict[str, Any] | None) -> str | None:
    """The `text/plain` topic: from the `m.topic` block when it has one, else `topic`."""
    if content is None:
        return None
    block = content.get("m.topic")
    representations = block.get("m.text") if isinstance(block, dict) else block
    if isinstance(representations, list):
        for r in representations:
            if isinstance(r, dict) and r.get("mimetype", "text/plain") == "text/plain":
                body = _string(r, "body")
                if body is not None:
                    return body
    return _string(content, "topic")
