"""`GET /_matrix/client/v1/rooms/{roomId}/hierarchy`: a space's tree of rooms, depth first
(spec: client-server-api#get_matrixclientv1roomsroomidhierarchy, "Spaces").

The walk starts at the requested room (depth 0) and follows the `m.space.child` state events of
each space it includes (a child is valid only with a non-empty `via`; `suggested_only` keeps
only `suggested: true` ones), in the spec's order: children with a valid `order` first (by that
string), then by the child event's `origin_server_ts`, then by room ID. A room is included when
the requester may see it, the spec's list: joined or invited, or its join rule is `public`,
`knock` or `knock_restricted`, or `restricted` with the requester joined to one of the allowed
rooms, or its history is `world_readable`. A room that is not included is not walked into (its
children are private to whoever may see it), a room already included is not walked again (so a
loop ends), and children below `max_depth` are not walked. Rooms this server does not know are
left out (no federation to ask).

The requested room itself must pass the same rule, else 403 M_FORBIDDEN, the same answer as for
a room that does not exist (the spec's reasons include both), so the endpoint never confirms
that a private room exists.

Pages: `next_batch` is a token holding the request's root, `suggested_only`, `max_depth` and how
many rooms were sent; the next page walks again from the root and skips those (the tree is
re-read, so every page shows the rooms as they are now, with visibility decided then). A token
given with another root, `suggested_only` or `max_depth` is 400 M_INVALID_PARAM, as is one that
does not parse. A walk reads at most `_WALKED_AT_MOST` rooms, however the space is built.

A server admin through Synapse's admin API (`as_admin`) sees every room this server knows, member
or not (Synapse's admin hierarchy "does not check for room membership"); an unknown root is
then 404 M_NOT_FOUND, there being nothing to hide from an admin.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.events.types import EventType, JoinRule, Membership
from bastion.json_types import JsonObject
from bastion.services.directory.room_info import DESCRIBING_TYPES, describe
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, RoomDirectoryStore

SPACE = "m.space"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_MAX_DEPTH = 10
MAX_MAX_DEPTH = 20
_WALKED_AT_MOST = 5_000  # rooms read per request, whatever the space's shape
_ORDER_MAX_LENGTH = 50  # m.space.child `order`: at most 50 characters \x20-\x7E

_SEEING = frozenset({Membership.JOIN, Membership.INVITE})
_OPEN_JOIN_RULES = frozenset({JoinRule.PUBLIC, JoinRule.KNOCK, JoinRule.KNOCK_RESTRICTED})


@dataclass(frozen=True, slots=True)
class HierarchyQuery:
    """The request's parameters (already range-checked by the API layer)."""

    suggested_only: bool = False
    limit: int = DEFAULT_LIMIT
    max_depth: int = DEFAULT_MAX_DEPTH
    from_token: str | None = None


class _Page(msgspec.Struct, frozen=True, array_like=True):
    """What a `next_batch` token holds."""

    root: str
    suggested_only: bool
    max_depth: int
    sent: int


@dataclass(frozen=True, slots=True)
class _Room:
    """A room read for the walk: its summary fields, its valid children, who may see it."""

    summary: JsonObject
    children: list[StoredEvent]  # the valid m.space.child events, in order (spaces only)
    join_rule: str | None
    allowed: list[str]
    world_readable: bool


class SpaceHierarchyService:
    """Walks spaces for `/hierarchy`."""

    def __init__(
        self, db: Database, *, directory: RoomDirectoryStore, memberships: MembershipStore
    ) -> None:
        self._db = db
        self._directory = directory
        self._memberships = memberships

    async def hierarchy(
        self, requester: Requester, room_id: str, query: HierarchyQuery, *, as_admin: bool = False
    ) -> JsonObject:
        """One page of the tree under `room_id` (module docstring)."""
        if as_admin:
            requester.require_admin()
        skip = 0
        if query.from_token is not None:
            page = _parse_token(query.from_token)
            if (page.root, page.suggested_only, page.max_depth) != (
                room_id, query.suggested_only, query.max_depth
            ):  # fmt: skip
                raise MatrixError(
                    400,
                    Errcode.INVALID_PARAM,
                    "suggested_only and max_depth cannot change while paginating, nor the room",
                )
            skip = page.sent
        root = (await self._read([room_id])).get(room_id)
        if as_admin:
            if root is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
            sees: Callable[[str, _Room], bool] = _sees_everything
        else:
            memberships = {
                r.room_id: r.membership
                for r in await self._memberships.rooms_of_user(
                    self._db, requester.user_id, [Membership.JOIN, Membership.INVITE]
                )
            }

            def sees(room_id: str, room: _Room) -> bool:
                return _may_see(room, memberships.get(room_id), memberships)

            if root is None or not sees(room_id, root):
                raise MatrixError(403, Errcode.FORBIDDEN, "You are not allowed to view this room.")
        rooms: list[JsonObject] = []
        more = await self._walk(root, room_id, query, sees, skip, rooms)
        out: JsonObject = {"rooms": rooms}
        if more:
            token = _Page(room_id, query.suggested_only, query.max_depth, skip + len(rooms))
            out["next_batch"] = base64.urlsafe_b64encode(msgspec.json.encode(token)).decode()
        return out

    async def _walk(
        self,
        root: _Room,
        root_id: str,
        query: HierarchyQuery,
        sees: Callable[[str, _Room], bool],
        skip: int,
        out: list[JsonObject],
    ) -> bool:
        """Append the page's rooms to `out`; True when more rooms follow it."""
        stack: list[tuple[str, int]] = [(root_id, 0)]  # (room, depth), next to visit last
        known: dict[str, _Room] = {root_id: root}
        seen: set[str] = set()
        included = 0
        while stack:
            room_id, depth = stack.pop()
            if room_id in seen:
                continue
            seen.add(room_id)
            room = known.get(room_id)
            if room is None or not sees(room_id, room):
                continue
            if included >= skip + query.limit:
                return True  # a room beyond this page
            if included >= skip:
                out.append(room.summary)
            included += 1
            children = _children(room, query.suggested_only) if depth < query.max_depth else []
            unread = [c for c in children if c not in known and c not in seen]
            if unread and len(known) < _WALKED_AT_MOST:
                known |= await self._read(unread[: _WALKED_AT_MOST - len(known)])
            stack += [(child, depth + 1) for child in reversed(children) if child not in seen]
        return False

    async def _read(self, room_ids: Sequence[str]) -> dict[str, _Room]:
        """The rooms of `room_ids` this server knows (a room without state is unknown)."""
        state = await self._directory.current_state_of_rooms(self._db, room_ids, DESCRIBING_TYPES)
        known = sorted({e.room_id for e in state if e.type == EventType.CREATE})
        if not known:
            return {}
        counts = await self._memberships.member_counts(self._db, known)
        by_room: dict[str, list[StoredEvent]] = {}
        for event in state:
            by_room.setdefault(event.room_id, []).append(event)
        children: dict[str, list[StoredEvent]] = {}
        for event in await self._directory.space_children(self._db, known):
            children.setdefault(event.room_id, []).append(event)
        out: dict[str, _Room] = {}
        for room_id in known:
            own_state = by_room[room_id]
            joined = counts.get(room_id, {}).get(Membership.JOIN, 0)
            description = describe(room_id, own_state, joined)
            entry = description.entry
            allowed = description.allowed_room_ids
            own = _ordered(children.get(room_id, [])) if entry.room_type == SPACE else []
            summary: JsonObject = msgspec.to_builtins(description.summary(None))
            summary["children_state"] = [_child_state(e) for e in own]
            out[room_id] = _Room(summary, own, entry.join_rule, allowed, entry.world_readable)
        return out


def _sees_everything(_room_id: str, _room: _Room) -> bool:
    """A server admin's rule: every room this server knows."""
    return True


def _may_see(room: _Room, membership: str | None, memberships: Mapping[str, str]) -> bool:
    """The spec's rule for rooms /hierarchy returns (module docstring)."""
    if membership in _SEEING or room.world_readable or room.join_rule in _OPEN_JOIN_RULES:
        return True
    # `allowed` is empty unless the join rule admits through rooms in the room's version
    return any(memberships.get(r) == Membership.JOIN for r in room.allowed)


def _children(room: _Room, suggested_only: bool) -> list[str]:
    """The room's valid children, in the spec's order."""
    return [
        e.state_key
        for e in room.children  # valid and ordered (`_read`)
        if e.state_key and (not suggested_only or e.content.get("suggested") is True)
    ]


def _ordered(children: Sequence[StoredEvent]) -> list[StoredEvent]:
    """Valid `m.space.child` events (a non-empty `via`, not redacted), in the spec's order:
    a valid `order` first (by code point), then by timestamp, then by room ID."""
    valid = [
        e
        for e in children
        if e.redacted_by is None and isinstance(via := e.content.get("via"), list) and via
    ]

    def key(e: StoredEvent) -> tuple[int, str, int, str]:
        order = e.content.get("order")
        if _valid_order(order):
            assert isinstance(order, str)
            return (0, order, e.origin_server_ts, e.state_key or "")
        return (1, "", e.origin_server_ts, e.state_key or "")

    return sorted(valid, key=key)


def _valid_order(order: Any) -> bool:
    return (
        isinstance(order, str)
        and len(order) <= _ORDER_MAX_LENGTH
        and all("\x20" <= c <= "\x7e" for c in order)
    )


def _child_state(event: StoredEvent) -> JsonObject:
    """An `m.space.child` event as stripped state with its `origin_server_ts`."""
    return {
        "type": event.type,
        "state_key": event.state_key,
        "content": event.content,
        "sender": event.sender,
        "origin_server_ts": event.origin_server_ts,
    }


def _parse_token(token: str) -> _Page:
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(token.encode()), type=_Page)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise MatrixError(400, Errcode.INVALID_PARAM, "unknown from token") from None
