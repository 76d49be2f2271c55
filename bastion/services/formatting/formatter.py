"""Turns stored events into what a client receives, for every read path.

Looks up each room's version (needed by the redaction algorithm; immutable, so cached) and the
redaction events of redacted events (for `unsigned.redacted_because`), in batches; bundled
aggregations (`unsigned["m.relations"]`) come from `bundles.py`, per page.

Invariant: every stored event's room has a `rooms` row (rooms are never deleted), so an event
whose room is unknown is an error, never formatted under a guessed room version.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.events.serialize import client_event
from bastion.json_types import JsonObject
from bastion.services.formatting.bundles import BundledAggregations
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import EventStore, RoomStore


class EventFormatter:
    """Client-format serialisation with redactions applied."""

    def __init__(
        self,
        db: Database,
        events: EventStore,
        rooms: RoomStore,
        clock: Clock,
        *,
        bundles: BundledAggregations,
    ) -> None:
        self._db = db
        self._events = events
        self._rooms = rooms
        self._clock = clock
        self._bundles = bundles
        self._versions: dict[str, str] = {}

    async def room_version(self, room_id: str) -> str:
        """A room's version (cached: it never changes).

        Raises:
            MatrixError: M_NOT_FOUND when the room does not exist.
        """
        version = self._versions.get(room_id)
        if version is None:
            room = await self._rooms.get_room(self._db, room_id)
            if room is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room '{room_id}'")
            version = room.room_version
            self._versions[room_id] = version
        return version

    async def format(
        self, events: Sequence[StoredEvent], requester: Requester | None
    ) -> list[JsonObject]:
        """Client events, in the given order, with their bundled aggregations."""
        if not events:  # the usual state section of an incremental sync
            return []
        out = await self._serialise(events, requester)
        await self._bundles.attach(events, out, requester, self._serialise)
        return out

    async def _serialise(
        self, events: Sequence[StoredEvent], requester: Requester | None
    ) -> list[JsonObject]:
        """Client events, in the given order."""
        redaction_ids = [e.redacted_by for e in events if e.redacted_by is not None]
        redactions = await self._events.get_events(self._db, redaction_ids) if redaction_ids else {}
        missing = {e.room_id for e in events} - self._versions.keys()
        if len(missing) > 1:  # one read for every room of a many-room page (sync)
            self._versions |= await self._rooms.room_versions(self._db, list(missing))
        now = self._clock.now_ms()
        viewer = (requester.user_id, requester.device_id) if requester is not None else None
        out = []
        for event in events:
            version = await self.room_version(event.room_id)
            redaction = redactions.get(event.redacted_by) if event.redacted_by else None
            because = (
                client_event(redaction, room_version=version, now_ms=now)
                if redaction is not None
                else None
            )
            out.append(
                client_event(
                    event, room_version=version, now_ms=now, viewer_device=viewer, redaction=because
                )
            )
        return out

    async def format_one(self, event: StoredEvent, requester: Requester | None) -> JsonObject:
        """One client event."""
        return (await self.format([event], requester))[0]
