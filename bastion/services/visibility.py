"""THE chokepoint for reading room events: every read path asks this module.

Sync, /messages, /context, /event, /members, /state, relations and search decide what a user may
see here and nowhere else. The rules themselves are pure (`events/visibility.py`); this module
loads what they need: the viewer's membership changes and the room's history-visibility changes.

Fast path: a viewer whose membership record says they joined at position J, and who is still
joined, sees every event after J without loading either timeline.

Forgotten rooms (spec: client-server-api#post_matrixclientv3roomsroomidforget, "a user will no
longer be able to retrieve history for this room"): while the viewer's membership record is
`forgotten`, `history` gives them an empty membership timeline, so `room_access` and
`filter_events` treat them exactly as someone never in the room (world-readable history only).
A join, invite or knock clears the flag (store/sql/memberships.py); the normal rules apply again.

Ignored users (spec: client-server-api#ignoring-users) are applied here too, for every read path
at once: `filter_events` drops the non-state events of senders the viewer ignores (state events
stay, so a room looks the same), and `hides_invite` tells /sync which invites not to show. The
lists come from an in-memory cache (services/ignored_users.py): no query once a user's list is
loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.events.visibility import ViewerHistory, is_visible
from bastion.services.ignored_users import IgnoredUsers
from bastion.store.database import Database
from bastion.store.protocols import EventStore, MembershipStore
from bastion.store.records import MembershipRecord


class RoomAccess:
    """What a viewer may read of one room: everything visible up to `upto` (inclusive).

    `can_read_state` is False for someone only invited (never joined): they get the stripped
    state of their invite, not the room's member list or full state.
    """

    def __init__(
        self, membership: MembershipRecord | None, upto: int | None, *, can_read_state: bool = True
    ) -> None:
        self.membership = membership
        self.upto = upto  # None: no upper bound (currently joined, or world-readable)
        self.can_read_state = can_read_state


class VisibilityService:
    """Decides which events a user may see."""

    def __init__(
        self,
        db: Database,
        events: EventStore,
        memberships: MembershipStore,
        ignored: IgnoredUsers,
    ) -> None:
        self._db = db
        self._events = events
        self._memberships = memberships
        self._ignored = ignored

    async def history(
        self, viewer: str, room_id: str, membership: MembershipRecord | None
    ) -> ViewerHistory:
        """Load the timelines the rules need; `membership` is the viewer's current record.

        A forgotten room has no past for the viewer: their membership timeline is empty.
        """
        visibilities = await self._events.state_value_timeline(
            self._db, room_id, EventType.HISTORY_VISIBILITY, ""
        )
        if membership is not None and membership.forgotten:
            return ViewerHistory([], visibilities)
        memberships = await self._events.state_value_timeline(
            self._db, room_id, EventType.MEMBER, viewer
        )
        return ViewerHistory(memberships, visibilities)

    async def filter_events(
        self,
        viewer: str,
        events: Sequence[StoredEvent],
        *,
        membership: MembershipRecord | None = None,
    ) -> list[StoredEvent]:
        """The events (all of one room) that `viewer` may see, in the given order.

        `membership` is the viewer's record in the room when the caller has read it; without it,
        it is read here (whether the viewer forgot the room decides what they see).
        """
        if not events:
            return []
        ignored = await self._ignored.ignored_by(viewer)
        if ignored:
            events = [e for e in events if e.is_state or e.sender not in ignored]
            if not events:
                return []
        room_id = events[0].room_id
        if membership is None:
            membership = await self._memberships.get_membership(self._db, viewer, room_id)
        if membership is not None and membership.membership == "join":
            joined_at = membership.stream_ordering
            if all(e.stream_ordering > joined_at for e in events):
                return list(events)
        history = await self.history(viewer, room_id, membership)
        return [
            e
            for e in events
            if is_visible(
                history, e.stream_ordering, event_type=e.type, state_key=e.state_key, viewer=viewer
            )
        ]

    async def hides_invite(self, viewer: str, invite: StoredEvent) -> bool:
        """True for an invite sent by someone the viewer ignores: it is not shown to them."""
        return invite.sender in await self._ignored.ignored_by(viewer)

    async def require_visible(
        self, viewer: str, event: StoredEvent | None, room_id: str
    ) -> StoredEvent:
        """The event, or 404 M_NOT_FOUND when it does not exist or may not be seen."""
        if event is None or event.room_id != room_id:
            raise MatrixError(404, Errcode.NOT_FOUND, "event not found")
        membership = await self._memberships.get_membership(self._db, viewer, room_id)
        if not await self.filter_events(viewer, [event], membership=membership):
            raise MatrixError(404, Errcode.NOT_FOUND, "event not found")
        return event

    async def room_access(self, viewer: str, room_id: str) -> RoomAccess:
        """May `viewer` read this room's history at all, and up to where?

        Joined: everything visible. Left, kicked or banned after having been in the room: up to
        their leave. Never in the room, or forgot it since (until a new membership): only a
        world-readable room. Otherwise 403 M_FORBIDDEN.
        """
        membership = await self._memberships.get_membership(self._db, viewer, room_id)
        if membership is not None and membership.membership == "join":
            return RoomAccess(membership, None)
        history = await self.history(viewer, room_id, membership)
        if history.visibilities and history.visibilities[-1][1] == "world_readable":
            return RoomAccess(membership, None)
        if membership is not None and any(m == "join" for _, m in history.memberships):
            return RoomAccess(membership, membership.stream_ordering)
        if membership is not None and membership.membership == "invite":
            return RoomAccess(membership, membership.stream_ordering, can_read_state=False)
        raise MatrixError(403, Errcode.FORBIDDEN, f"you are not a member of {room_id}")
