"""THE read door for room events: every client read fetches and checks here, in one call.

The rules are pure (`events/visibility.py`); this module loads what they need (the viewer's
membership changes, the room's history-visibility changes) and decides: `room_access` (may the
viewer read the room at all, up to where) and `filter_events` (which events). Fast path: a
viewer still joined since position J sees every event after J without loading either timeline.

Forgotten rooms (spec: client-server-api#post_matrixclientv3roomsroomidforget): while the
viewer's membership record is `forgotten`, `history` gives them an empty membership timeline,
so they are treated exactly as someone never in the room (world-readable history only). A join,
invite or knock clears the flag (store/sql/memberships.py). Ignored users (spec:
client-server-api#ignoring-users): `filter_events` drops the non-state events of senders the
viewer ignores, and `hides_invite` tells /sync which invites not to show (lists cached in
services/ignored_users.py: no query once a user's list is loaded).

The door. A service answering a client holds no event or state store: it gets events and state
only from the fetch-and-check methods below (`visible_event`, `event_for_admin`,
`visible_events`, `page`, `timeline`, `timelines`, `search_window`, `children`,
`thread_roots`, `aggregation_rows`, `state`, `member_state`, `state_of`, `joined_states_of`,
`state_at_event`, `event_near_time`, `state_upto`, `replaced_state`, `invite_state`).
Retention hides expired events here (`filter_events`, which every fetch-and-check method ends
in, or for a server admin's `RoomAccess.for_admin` reads `_unexpired` alone:
services/retention/policy.py), so no endpoint returns one even before the purge has run.
Retention and legal hold rely on it being the only door; `tests/unit/test_read_door.py` fails
when any other service module reads events.
The allowed exceptions, none of which hands events to a client:

* auth state and power levels of a write: `rooms/pipeline.py`, `power_levels.py`,
  `rooms/aliases.py`, `directory/rooms.py`, `push/recorder.py`;
* write-path checks: `rooms/messages.py` (a key's current state before `set_state`; the
  redaction target lookup, a write check: the target must exist in the room), redaction
  pruning (`rooms/redaction.py`), profile propagation over the user's own member events
  (`rooms/member_profiles.py`), DLP's "is this room encrypted?" before it acts on a hit
  (`dlp/hook.py`), the offboarding job's power levels and memberships of the rooms it walks
  (`offboarding/job.py`), a room's join rule before an admin or a SCIM group joins someone
  to it (`rooms/room_entry.py`), a restricted room's join rule, power levels and version before
  a join it admits (`rooms/restricted_joins.py`), the transferable state and power levels of a
  room being upgraded by someone allowed to send its tombstone (`rooms/upgrade.py`), the sender
  of the event a suspended account redacts (`suspensions.py`: its own events only);
* server-internal bookkeeping: the search backfill (`search/indexer.py`), /sync's walk over
  the viewer's own member events and its active-room query (`sync/service.py`,
  `sync/as_of.py`), the
  formatter's `redacted_because` of events that passed the door, the door's own shared fetch
  of /sync windows (`recent_events.py`, read only from here), the push delivery worker
  (events whose notifications were computed for members at send time);
* application services (`appservices/delivery.py`): the events of the namespaces an
  administrator registered for a service, formatted as for clients and without those the
  room's retention expired; a service has no membership to check, its registration is its
  entitlement;
* admins, never clients: moderation's reads of a reported event (`event_json`) and the
  events around it (`events_around`, redacted ones without body), room names
  and aliases, and the power levels and join rule of a room the moderation account acts in
  (`moderation/room_facts.py`); the power levels and creators of a room a promotion writes
  to (`rooms/promotion.py`); Synapse's room state API and the room inventory's describing
  state (`admin/rooms.py`, `admin/room_summaries.py`); the compliance export
  (`export/writer.py`: server admins only, audited, and it must include what no client sees,
  the originals of redacted and held events); the files an event names, read by an admin
  quarantining them before the event is redacted (`media/admin.py`: only `mxc://` URIs are
  taken from it, nothing of it is shown); the room and position of the event an admin's
  history purge stops at (`retention/history_purge.py`: nothing of it is shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from msgspec import structs

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import RoomEventFilter, event_matches
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.events.visibility import ViewerHistory, is_visible
from bastion.services.ignored_users import IgnoredUsers
from bastion.services.invite_permission import InvitePermissions
from bastion.services.read_page import Page, Span
from bastion.services.recent_events import RecentRoomEvents
from bastion.services.retention.policy import RoomRetention, is_expired
from bastion.store.database import Database
from bastion.store.protocols import (
    AggregationRow,
    ChildrenQuery,
    EventStore,
    MembershipStore,
    RelationStore,
    SearchHit,
    SearchQuery,
    SearchStore,
    StateStore,
)
from bastion.store.records import MembershipRecord

__all__ = ["Page", "ReadStores", "RoomAccess", "Span", "VisibilityService"]


class RoomAccess:
    """What a viewer may read of one room: everything visible up to `upto` (inclusive).

    `can_read_state` is False for someone only invited (never joined): they get the stripped
    state of their invite, not the room's member list or full state. `everything` is a server
    admin's read through the admin API (`for_admin`): every event the room holds, whatever its
    history visibility; retention still hides expired events, gone for everyone.
    """

    def __init__(
        self,
        membership: MembershipRecord | None,
        upto: int | None,
        *,
        can_read_state: bool = True,
        everything: bool = False,
    ) -> None:
        self.membership = membership
        self.upto = upto  # None: no upper bound (currently joined, or world-readable)
        self.can_read_state = can_read_state
        self.everything = everything

    @classmethod
    def for_admin(cls) -> RoomAccess:
        """A server admin's access through the admin API (the caller checked the admin)."""
        return cls(None, None, everything=True)


@dataclass(frozen=True, slots=True)
class ReadStores:
    """The stores only the read door reads for clients."""

    events: EventStore
    state: StateStore
    memberships: MembershipStore
    search: SearchStore
    relations: RelationStore


class VisibilityService:
    """Decides which events a user may see, and is the door every client read goes through."""

    def __init__(
        self,
        db: Database,
        stores: ReadStores,
        ignored: IgnoredUsers,
        *,
        retention: RoomRetention | None = None,
        recent: RecentRoomEvents | None = None,
        invites: InvitePermissions | None = None,
    ) -> None:
        self._db = db
        self._invites = invites  # who blocks invites (not shown to them)
        self._retention = retention
        self._recent = recent  # /sync's windows, shared by the syncs one event wakes
        self._events = stores.events
        self._state = stores.state
        self._memberships = stores.memberships
        self._search = stores.search
        self._relations = stores.relations
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
        events = await self._unexpired(events)
        if not events:
            return []
        room_id = events[0].room_id
        ignored = await self._ignored.ignored_by(viewer)
        if ignored:
            events = [e for e in events if e.is_state or e.sender not in ignored]
        if not events:
            return []
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
                history,
                e.stream_ordering,
                event_type=e.type,
                state_key=e.state_key,
                viewer=viewer,
                ends_membership=_ends_membership(e),
            )
        ]

    async def hides_invite(self, viewer: str, invite: StoredEvent) -> bool:
        """True for an invite sent by someone the viewer ignores, or any invite while the
        viewer blocks invites (services/invite_permission.py): it is not shown to them."""
        if invite.sender in await self._ignored.ignored_by(viewer):
            return True
        permissions = self._invites
        return (
            permissions is not None
            and not permissions.exempt(invite.sender)
            and await permissions.blocks_invites(viewer)
        )

    async def hidden_invites(self, viewer: str, invites: Sequence[MembershipRecord]) -> set[str]:
        """The rooms of `invites` (the viewer's) whose invite is hidden (`hides_invite`): one
        read of the invite events, none when the viewer ignores nobody and takes invites."""
        if not invites:
            return set()
        blocking = self._invites is not None and await self._invites.blocks_invites(viewer)
        if not blocking and not await self._ignored.ignored_by(viewer):
            return set()
        events = await self._events.get_events(self._db, [m.event_id for m in invites])
        return {e.room_id for e in events.values() if await self.hides_invite(viewer, e)}

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

    # The read door: every method below fetches and checks in one call.

    async def visible_event(
        self, viewer: str, room_id: str, event_id: str, *, access: RoomAccess | None = None
    ) -> StoredEvent:
        """One event; 404 M_NOT_FOUND when absent, in another room, or not visible (to an
        admin's `access`: expired)."""
        event = await self._events.get_event(self._db, event_id)
        if access is not None and access.everything:
            return await self._require_unexpired(event, room_id)
        return await self.require_visible(viewer, event, room_id)

    async def event_for_admin(self, event_id: str) -> StoredEvent:
        """Any event this server holds, for a server admin (the caller checked the admin);
        404 M_NOT_FOUND when absent or expired."""
        event = await self._events.get_event(self._db, event_id)
        return await self._require_unexpired(event, None if event is None else event.room_id)

    async def visible_events(
        self, viewer: str, event_ids: Sequence[str], *, live_only: bool = False
    ) -> dict[str, StoredEvent]:
        """The events of `event_ids` (any rooms) the viewer may see, by ID; `live_only` leaves
        redacted ones out. One visibility check per room."""
        found = await self._events.get_events(self._db, event_ids)
        events = [e for e in found.values() if not live_only or e.redacted_by is None]
        return {e.event_id: e for e in await self._visible_in_rooms(viewer, events)}

    async def aggregation_rows(
        self, viewer: str, parent_ids: Sequence[str]
    ) -> list[AggregationRow]:
        """The children the formatter bundles into these parents' aggregations (latest thread
        event, latest edit, references), those the viewer may not see left out."""
        rows = await self._relations.aggregation_rows(self._db, parent_ids, viewer)
        visible = {
            e.event_id for e in await self._visible_in_rooms(viewer, [r.event for r in rows])
        }
        return [row for row in rows if row.event.event_id in visible]

    async def page(
        self, viewer: str, access: RoomAccess, room_id: str, span: Span, f: RoomEventFilter | None
    ) -> Page:
        """A page of a room's events (/messages, /context, search context) as `access` (from
        `room_access`) and the history rules allow; the filter `f` applies before them."""
        events = await self._events.room_events_between(
            self._db, room_id, after=span.after, before=span.before, limit=span.limit,
            newest_first=span.newest_first,
        )  # fmt: skip
        if access.everything:
            matching = events if f is None else [e for e in events if event_matches(f, e)]
            return Page.of(events, await self._unexpired(matching))
        return await self._checked(viewer, access.membership, events, f)

    async def timeline(
        self, viewer: str, membership: MembershipRecord, span: Span, f: RoomEventFilter
    ) -> Page:
        """One room's /sync timeline: the newest `span.limit` events of the span, oldest first,
        as the viewer may see them; `limited` when there were more."""
        newest = await self._events.room_events_between(
            self._db, membership.room_id, after=span.after, before=span.before,
            limit=span.limit + 1, newest_first=True,
        )  # fmt: skip
        return await self._timeline(viewer, membership, newest[::-1], span.limit, f)

    async def timelines(
        self, viewer: str, memberships: Sequence[MembershipRecord], span: Span, f: RoomEventFilter
    ) -> dict[str, Page]:
        """`timeline` for several joined rooms in one query (shared by the syncs woken
        together: services/recent_events.py); a room with nothing new gets an empty page."""
        rooms = [m.room_id for m in memberships]
        window = {"after": span.after, "upto": span.before - 1, "limit": span.limit + 1}
        if self._recent is not None:
            recent = await self._recent.recent_events_in_rooms(rooms, **window)
        else:
            recent = await self._events.recent_events_in_rooms(self._db, rooms, **window)
        by_room: dict[str, list[StoredEvent]] = {room_id: [] for room_id in rooms}
        for event in recent:  # oldest first within each room
            by_room[event.room_id].append(event)
        return {
            m.room_id: await self._timeline(viewer, m, by_room[m.room_id], span.limit, f)
            for m in memberships
        }

    async def search_window(
        self, viewer: str, query: SearchQuery, access: dict[str, RoomAccess], f: RoomEventFilter
    ) -> tuple[list[SearchHit], list[SearchHit]]:
        """(window, visible): the index's candidates for `query` (its scope comes from `access`)
        and those the filter keeps and the viewer may see, in rank or time order. Only the
        visible hits' events may reach the client; the window is for cutting the next cursor."""
        window = await self._search.find_hits(self._db, query)
        matching = [hit.event for hit in window if event_matches(f, hit.event)]
        seen = await self._visible_in_rooms(viewer, matching, access)
        allowed = {e.event_id for e in seen}
        return window, [hit for hit in window if hit.event.event_id in allowed]

    async def children(self, viewer: str, query: ChildrenQuery) -> Page:
        """A page of a parent's children (/relations): `query.limit` of them, `limited` when
        there were more, oldest/newest describing the page before filtering."""
        found = await self._relations.children(
            self._db, structs.replace(query, limit=query.limit + 1)
        )
        events = found[: query.limit]
        page = await self._checked(viewer, None, events, None)
        return replace(page, limited=len(found) > query.limit)

    async def thread_roots(
        self,
        viewer: str,
        access: RoomAccess,
        room_id: str,
        *,
        upto: int,
        limit: int,
        participant: str | None,
    ) -> tuple[Page, int | None]:
        """A page of a room's thread roots (/threads), the most recently active first, and the
        activity position of the last root when there are more."""
        rows = await self._relations.thread_roots(
            self._db, room_id, upto=upto, limit=limit + 1, participant=participant
        )
        more = rows[limit - 1][1] if len(rows) > limit else None
        roots = [root for root, _ in rows[:limit]]
        return await self._checked(viewer, access.membership, roots, None), more

    async def state(
        self,
        access: RoomAccess,
        room_id: str,
        *,
        at: int | None = None,
        event_type: str | None = None,
    ) -> list[StoredEvent]:
        """The room's state as `access` allows: current, or at `at` or the viewer's leave,
        whichever is earlier. (`access.can_read_state` is the caller's to enforce.)"""
        limit = access.upto
        if at is not None:
            limit = at if limit is None else min(at, limit)
        types = None if event_type is None else [event_type]
        if limit is None:
            return await self._state.current_state(self._db, room_id, types=types)
        return await self._state.state_at(self._db, room_id, limit, event_type=event_type)

    async def member_state(
        self, access: RoomAccess, room_id: str, users: Sequence[str]
    ) -> list[StoredEvent]:
        """The current member events of `users` (lazy-loaded senders of a /messages page
        `access` allowed)."""
        del access  # the page was read through it; current member events are its state
        keys = [(EventType.MEMBER.value, user) for user in users]
        return list((await self._state.current_events(self._db, room_id, keys)).values())

    async def state_of(
        self, access: RoomAccess, room_id: str, types: Sequence[str] | None, users: Sequence[str]
    ) -> list[StoredEvent]:
        """The room's state of `types` (every type when None) and the member events of `users`,
        as `access` allows: current, or at the viewer's leave (sliding sync's required_state)."""
        wanted = set(users)
        if access.upto is not None:
            return [
                e
                for e in await self._state.state_at(self._db, room_id, access.upto)
                if types is None
                or e.type in types
                or (e.type == EventType.MEMBER and e.state_key in wanted)
            ]
        if types is None:
            return await self._state.current_state(self._db, room_id)
        return await self._state.current_state_selected(self._db, room_id, types, sorted(wanted))

    async def joined_states_of(
        self, memberships: Sequence[MembershipRecord], types: Sequence[str], users: Sequence[str]
    ) -> dict[str, list[StoredEvent]]:
        """`state_of` for many rooms the viewer is joined to (current state, which a joined
        member may read), by room: one query for them all (sliding sync's initial rooms)."""
        if any(m.membership != "join" for m in memberships):
            raise ValueError("joined_states_of reads rooms the viewer is joined to only")
        by_room: dict[str, list[StoredEvent]] = {m.room_id: [] for m in memberships}
        found = await self._state.current_state_selected_in_rooms(
            self._db, list(by_room), types, users
        )
        for event in found:
            by_room[event.room_id].append(event)
        return by_room

    async def state_at_event(
        self, event: StoredEvent, *, event_type: str | None = None
    ) -> list[StoredEvent]:
        """The room's state at an event the viewer got through this door (/context, search)."""
        return await self._state.state_at(
            self._db, event.room_id, event.stream_ordering, event_type=event_type
        )

    async def event_near_time(
        self, viewer: str, room_id: str, ts: int, *, forwards: bool,
        access: RoomAccess | None = None,
    ) -> StoredEvent | None:  # fmt: skip
        """The event closest to `ts` in that direction, None when there is none; 404
        M_NOT_FOUND when the viewer may not see it (an admin's `access`: expired)."""
        event = await self._events.event_near_time(self._db, room_id, ts, forwards=forwards)
        if event is None:
            return None
        if access is not None and access.everything:
            return await self._require_unexpired(event, room_id)
        return await self.require_visible(viewer, event, room_id)

    async def state_upto(
        self, membership: MembershipRecord, after: int | None, ceiling: int
    ) -> list[StoredEvent]:
        """A /sync window's room state at `ceiling` (only keys set after `after`, when given).
        `ceiling` is the sync's position, or the viewer's leave (`membership`). Current state
        serves unless it has moved past the ceiling; then the state at the ceiling is read."""
        room_id = membership.room_id
        if after is None:
            current = await self._state.current_state(self._db, room_id)
        else:
            current = await self._state.current_state_changed_after(self._db, room_id, after)
        if all(e.stream_ordering <= ceiling for e in current):
            return current
        at_ceiling = await self._state.state_at(self._db, room_id, ceiling)
        return [e for e in at_ceiling if after is None or e.stream_ordering > after]

    async def replaced_state(
        self, membership: MembershipRecord, events: Sequence[StoredEvent]
    ) -> dict[str, StoredEvent]:
        """The state events that state events of a /sync timeline replaced, by ID: state of
        the viewer's room before the timeline's start."""
        room_id = membership.room_id
        ids = [e.replaces_state for e in events if e.room_id == room_id and e.replaces_state]
        return await self._events.get_events(self._db, ids)

    async def invite_state(
        self, membership: MembershipRecord, types: Sequence[str]
    ) -> list[StoredEvent] | None:
        """What an invited or knocking user sees of a room: its current state of `types` and
        their own member event; None for an invite from someone they ignore (not shown)."""
        own = await self._events.get_event(self._db, membership.event_id)
        if (
            own is not None
            and membership.membership == "invite"
            and await self.hides_invite(membership.user_id, own)
        ):
            return None
        events = await self._state.current_state(self._db, membership.room_id, types=types)
        if own is not None:
            events.append(own)
        return events

    async def _visible_in_rooms(
        self,
        viewer: str,
        events: Sequence[StoredEvent],
        access: dict[str, RoomAccess] | None = None,
    ) -> list[StoredEvent]:
        """`filter_events` for events of any rooms: one check per room (and one membership read,
        unless `access` holds the room's)."""
        by_room: dict[str, list[StoredEvent]] = {}
        for event in events:
            by_room.setdefault(event.room_id, []).append(event)
        visible: list[StoredEvent] = []
        for room_id, room in by_room.items():
            membership = access[room_id].membership if access is not None else None
            visible += await self.filter_events(viewer, room, membership=membership)
        return visible

    async def _unexpired(self, events: Sequence[StoredEvent]) -> list[StoredEvent]:
        """The events (all of one room) its retention has not expired."""
        if not events or self._retention is None:
            return list(events)
        cutoff = await self._retention.expired_before(events[0].room_id)
        return [e for e in events if not is_expired(e, cutoff)]

    async def _require_unexpired(
        self, event: StoredEvent | None, room_id: str | None
    ) -> StoredEvent:
        if event is None or event.room_id != room_id or not await self._unexpired([event]):
            raise MatrixError(404, Errcode.NOT_FOUND, "event not found")
        return event

    async def _timeline(
        self,
        viewer: str,
        membership: MembershipRecord,
        oldest_first: list[StoredEvent],
        limit: int,
        f: RoomEventFilter,
    ) -> Page:
        window = oldest_first[-limit:]
        return await self._checked(viewer, membership, window, f, limited=len(oldest_first) > limit)

    async def _checked(
        self,
        viewer: str,
        membership: MembershipRecord | None,
        events: list[StoredEvent],
        f: RoomEventFilter | None,
        *,
        limited: bool = False,
    ) -> Page:
        matching = events if f is None else [e for e in events if event_matches(f, e)]
        visible = await self.filter_events(viewer, matching, membership=membership)
        return Page.of(events, visible, limited=limited)


def _ends_membership(event: StoredEvent) -> bool:
    """A member event taking its subject from join or invite to leave or ban."""
    if event.type != EventType.MEMBER or event.membership not in ("leave", "ban"):
        return False
    before = (event.prev_content or {}).get("membership")
    return before in ("join", "invite")
