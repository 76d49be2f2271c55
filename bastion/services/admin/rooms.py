"""Rooms for server admins: Synapse's room list, details, members and state, and Bastion's
governance inventory with its filters.

Reads only, for server admins only (`actor.require_admin()` first). Lists are built from
`RoomSummaries` (a constant number of queries for the whole server), then filtered, ordered and
cut in memory: an organisation's rooms number in the thousands, not millions. Synapse's
`order_by` has an allow-list (anything else is 400 M_INVALID_PARAM, as in Synapse); ties are
broken by room ID so pages never overlap. The state read is a read-door exception
(services/visibility.py): it is for admins, never a client.

Forward extremities (Synapse's API for rooms whose history forked into many heads): every
Bastion event follows the room's previous one (services/rooms/pipeline.py), so a room has
exactly one, its latest event, and deleting "the extra" ones deletes none (audited all the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.serialize import client_event
from bastion.events.types import Membership
from bastion.services.admin.room_summaries import RoomSummaries, RoomSummary
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, StateStore
from bastion.store.protocols.room_admin import RoomInventoryStore

DAY_MS = 86_400_000
DELETE_EXTREMITIES = "room.delete_forward_extremities"

# Synapse's allow-list: order_by -> (sort key, forwards is largest first)
_Key = Callable[[RoomSummary], Any]
_ORDERS: dict[str, tuple[_Key, bool]] = {
    "name": (lambda r: (r.name is None, (r.name or "").casefold()), False),
    "canonical_alias": (lambda r: (r.canonical_alias is None, r.canonical_alias or ""), False),
    "joined_members": (lambda r: r.joined_members, True),
    "joined_local_members": (lambda r: r.joined_local_members, True),
    "version": (lambda r: (int(r.version) if r.version.isdigit() else -1, r.version), True),
    "creator": (lambda r: r.creator, False),
    "encryption": (lambda r: (r.encryption is None, r.encryption or ""), False),
    "federatable": (lambda r: r.federatable, True),
    "public": (lambda r: r.public, True),
    "join_rules": (lambda r: (r.join_rules is None, r.join_rules or ""), False),
    "guest_access": (lambda r: (r.guest_access is None, r.guest_access or ""), False),
    "history_visibility": (
        lambda r: (r.history_visibility is None, r.history_visibility or ""),
        False,
    ),
    "state_events": (lambda r: r.state_events, True),
}
_ALIASES = {"alphabetical": "name", "size": "joined_members"}  # Synapse's deprecated names
ORDER_BY = tuple(_ORDERS)


@dataclass(frozen=True, slots=True)
class RoomListQuery:
    """Synapse's `GET /_synapse/admin/v1/rooms` parameters."""

    start: int = 0
    limit: int = 100
    order_by: str = "name"
    backwards: bool = False
    search_term: str | None = None
    public_rooms: bool | None = None
    empty_rooms: bool | None = None


@dataclass(frozen=True, slots=True)
class RoomListPage:
    """One page of Synapse's room list."""

    rooms: list[RoomSummary]
    offset: int
    total_rooms: int
    next_batch: int | None
    prev_batch: int | None


@dataclass(frozen=True, slots=True)
class RoomDetails:
    """Synapse's room details: the summary plus local devices and whether it is forgotten."""

    summary: RoomSummary
    joined_local_devices: int
    forgotten: bool


@dataclass(frozen=True, slots=True)
class InventoryQuery:
    """Bastion's inventory filters; None means "no filter"."""

    start: int = 0
    limit: int = 100
    inactive_days: int | None = None
    no_admin: bool | None = None
    encrypted: bool | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class InventoryPage:
    """One page of the inventory; `next` is the offset of the next page, if any."""

    entries: list[RoomSummary]
    next: int | None


class RoomAdminService:
    """Room lists and reads for server admins."""

    def __init__(
        self,
        db: Database,
        summaries: RoomSummaries,
        *,
        inventory: RoomInventoryStore,
        state: StateStore,
        memberships: MembershipStore,
        audit: AuditTrail,
        clock: Clock,
        server_name: str,
    ) -> None:
        self._db = db
        self._audit = audit
        self._summaries = summaries
        self._inventory = inventory
        self._state = state
        self._memberships = memberships
        self._clock = clock
        self._suffix = f":{server_name}"

    async def list_rooms(self, actor: Principal, query: RoomListQuery) -> RoomListPage:
        """Synapse's room list: filtered, ordered, one page."""
        actor.require_admin()
        order = _ALIASES.get(query.order_by, query.order_by)
        if order not in _ORDERS:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"Unknown value for order_by: {query.order_by!r}"
            )
        rooms = [r for r in await self._summaries.all() if _listed(r, query)]
        key, largest_first = _ORDERS[order]
        rooms.sort(key=lambda r: r.room_id)
        rooms.sort(key=key, reverse=largest_first != query.backwards)
        page = rooms[query.start : query.start + query.limit]
        end = query.start + len(page)
        return RoomListPage(
            rooms=page,
            offset=query.start,
            total_rooms=len(rooms),
            next_batch=end if end < len(rooms) else None,
            prev_batch=max(0, query.start - query.limit) if query.start > 0 else None,
        )

    async def details(self, actor: Principal, room_id: str) -> RoomDetails:
        """Synapse's room details; 404 M_NOT_FOUND for an unknown room."""
        actor.require_admin()
        summary = await self._summary(room_id)
        devices, forgotten = await self._inventory.local_activity(
            self._db, room_id, local_suffix=self._suffix
        )
        return RoomDetails(summary, devices, forgotten)

    async def members(self, actor: Principal, room_id: str) -> list[str]:
        """The room's joined members."""
        actor.require_admin()
        await self._summary(room_id)
        return await self._memberships.members(self._db, room_id, [Membership.JOIN])

    async def state(
        self, actor: Principal, room_id: str, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        """The room's current state events in client format (optionally of one type)."""
        actor.require_admin()
        summary = await self._summary(room_id)
        types = [event_type] if event_type is not None else None
        events = await self._state.current_state(self._db, room_id, types=types)
        now = self._clock.now_ms()
        return [client_event(e, room_version=summary.version, now_ms=now) for e in events]

    async def forward_extremities(self, actor: Principal, room_id: str) -> list[dict[str, Any]]:
        """The room's forward extremities in Synapse's fields (one: module docstring)."""
        actor.require_admin()
        found = await self._inventory.forward_extremity(self._db, room_id)
        if found is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"Room not found: {room_id}")
        event_id, depth, ts = found
        return [{"event_id": event_id, "state_group": None, "depth": depth, "received_ts": ts}]

    async def delete_forward_extremities(self, actor: Principal, room_id: str) -> int:
        """Delete all but the latest extremity: none to delete (module docstring); audited."""
        actor.require_admin()
        async with self._audit.attempt(actor, "room.delete_forward_extremities", room_id):
            if await self._inventory.forward_extremity(self._db, room_id) is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"Room not found: {room_id}")
            details = {"deleted": 0}
            await self._audit.record_alone(
                actor, "room.delete_forward_extremities", room_id, details
            )
        return 0

    async def inventory(self, actor: Principal, query: InventoryQuery) -> InventoryPage:
        """Bastion's inventory: newest rooms first, filtered, one page."""
        actor.require_admin()
        rooms = await self.inventory_rows(actor, query)
        page = rooms[query.start : query.start + query.limit]
        end = query.start + len(page)
        return InventoryPage(page, end if end < len(rooms) else None)

    async def inventory_rows(self, actor: Principal, query: InventoryQuery) -> list[RoomSummary]:
        """Every inventory row the filters keep (the export's rows), newest room first."""
        actor.require_admin()
        now = self._clock.now_ms()
        rooms = [r for r in await self._summaries.all() if _kept(r, query, now)]
        rooms.sort(key=lambda r: r.room_id)
        rooms.sort(key=lambda r: r.created_ts, reverse=True)
        return rooms

    async def _summary(self, room_id: str) -> RoomSummary:
        summary = await self._summaries.one(room_id)
        if summary is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"Room not found: {room_id}")
        return summary


def _listed(room: RoomSummary, query: RoomListQuery) -> bool:
    if query.public_rooms is not None and room.public != query.public_rooms:
        return False
    if query.empty_rooms is not None and (room.joined_members == 0) != query.empty_rooms:
        return False
    term = query.search_term
    if not term:
        return True
    alias_local = (room.canonical_alias or "")[1:].split(":", 1)[0]
    folded = term.casefold()
    return (
        folded in (room.name or "").casefold()
        or folded in alias_local.casefold()
        or (term in room.room_id)
    )


def _kept(room: RoomSummary, query: InventoryQuery, now_ms: int) -> bool:
    if query.encrypted is not None and (room.encryption is not None) != query.encrypted:
        return False
    if query.no_admin is not None and (not room.admins) != query.no_admin:
        return False
    if query.inactive_days is not None:
        last = room.last_activity_ts if room.last_activity_ts is not None else room.created_ts
        if last > now_ms - query.inactive_days * DAY_MS:
            return False
    if query.search:
        folded = query.search.casefold()
        texts = (room.name, room.topic, room.canonical_alias, room.room_id)
        return any(folded in t.casefold() for t in texts if t)
    return True
