"""What the admin room lists say about each room: one summary per room, from current state.

Both faces read this: Synapse's room list and details (`services/admin/rooms.py`) and
Bastion's inventory and its export. A read-door exception (services/visibility.py names it): it
reads the current state events that describe a room (name, topic, alias, join rules, history
visibility, guest access, encryption, create, power levels, tombstone) for server admins, and
hands no event to a client. Redacted state counts as redacted (a redacted name is no name).

Admins are `PowerLevels.admins()` (level 100 and, in v12, the creators) who are still joined:
an admin who left governs nothing until they come back, so a room whose admins all left shows
no admin (`no_admin`). A whole list is built in a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.events.model import StoredEvent
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import EventType
from bastion.services.directory.room_info import DESCRIBING_TYPES, describe
from bastion.store.database import Database
from bastion.store.protocols.room_admin import RoomFactsRow, RoomInventoryStore

_TYPES = (*DESCRIBING_TYPES, EventType.POWER_LEVELS, EventType.TOMBSTONE)
_ROOMS_PER_READ = 500


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """One room as the admin lists show it."""

    room_id: str
    version: str
    creator: str
    name: str | None
    topic: str | None
    avatar: str | None
    canonical_alias: str | None
    joined_members: int
    joined_local_members: int
    encryption: str | None
    federatable: bool
    public: bool
    join_rules: str | None
    guest_access: str | None
    history_visibility: str | None
    state_events: int
    room_type: str | None
    created_ts: int
    last_activity_ts: int | None
    admins: tuple[str, ...]
    tombstoned: bool
    replacement_room: str | None


class RoomSummaries:
    """Builds room summaries for server admins."""

    def __init__(self, db: Database, store: RoomInventoryStore, *, server_name: str) -> None:
        self._db = db
        self._store = store
        self._suffix = f":{server_name}"

    async def all(self) -> list[RoomSummary]:
        """Every room on the server, ordered by room ID."""
        return await self._summaries(None)

    async def one(self, room_id: str) -> RoomSummary | None:
        """One room, or None when the server does not know it."""
        found = await self._summaries(room_id)
        return found[0] if found else None

    async def _summaries(self, room_id: str | None) -> list[RoomSummary]:
        facts = await self._store.room_facts(self._db, local_suffix=self._suffix, room_id=room_id)
        summaries: list[RoomSummary] = []
        for start in range(0, len(facts), _ROOMS_PER_READ):
            batch = facts[start : start + _ROOMS_PER_READ]
            ids = [f.room_id for f in batch]
            state = await self._store.current_state_of_rooms(self._db, ids, _TYPES)
            joined = await self._store.joined_members(self._db, ids)
            by_room: dict[str, list[StoredEvent]] = {}
            for event in state:
                by_room.setdefault(event.room_id, []).append(event)
            summaries += [
                _summary(f, by_room.get(f.room_id, []), joined.get(f.room_id, frozenset()))
                for f in batch
            ]
        return summaries


def _summary(
    facts: RoomFactsRow, state: Sequence[StoredEvent], joined: frozenset[str]
) -> RoomSummary:
    described = describe(facts.room_id, state, facts.joined_members)
    entry = described.entry
    events = {e.type: e for e in state if e.state_key == ""}
    create = events.get(EventType.CREATE)
    create_content = create.content if create is not None else {}
    levels = _levels(events, create, facts.room_version)
    tombstone = _live_content(events.get(EventType.TOMBSTONE))
    replacement = tombstone.get("replacement_room") if tombstone is not None else None
    history = _live_content(events.get(EventType.HISTORY_VISIBILITY))
    guest = _live_content(events.get(EventType.GUEST_ACCESS))
    return RoomSummary(
        room_id=facts.room_id,
        version=facts.room_version,
        creator=create.sender if create is not None else facts.creator,
        name=entry.name,
        topic=entry.topic,
        avatar=entry.avatar_url,
        canonical_alias=entry.canonical_alias,
        joined_members=facts.joined_members,
        joined_local_members=facts.joined_local_members,
        encryption=described.encryption,
        federatable=create_content.get("m.federate", True) is not False,
        public=facts.published,
        join_rules=entry.join_rule,
        guest_access=_text(guest, "guest_access"),
        history_visibility=_text(history, "history_visibility"),
        state_events=facts.state_events,
        room_type=entry.room_type,
        created_ts=facts.created_ts,
        last_activity_ts=facts.last_activity_ts,
        admins=tuple(sorted(levels.admins() & joined)),
        tombstoned=tombstone is not None,
        replacement_room=replacement if isinstance(replacement, str) else None,
    )


def _levels(
    events: dict[str, StoredEvent], create: StoredEvent | None, room_version: str
) -> PowerLevels:
    creators = (
        creators_of(create.sender, create.content, room_version)
        if create is not None
        else frozenset[str]()
    )
    power = _live_content(events.get(EventType.POWER_LEVELS))
    return PowerLevels.from_state(power, creators, room_version)


def _live_content(event: StoredEvent | None) -> dict[str, object] | None:
    """An event's content as stored (a redacted event is stored in its redacted form)."""
    return dict(event.content) if event is not None else None


def _text(content: dict[str, object] | None, key: str) -> str | None:
    value = content.get(key) if content is not None else None
    return value if isinstance(value, str) and value else None
