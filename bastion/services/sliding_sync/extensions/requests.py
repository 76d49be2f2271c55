"""What a client may put in an extension's request object, typed, and the rooms it selects.

The connection code hands each extension the client's object as it came (`enabled` already
checked), so each extension reads its own fields here: a wrong type is 400 M_BAD_JSON naming
the extension, unknown fields are ignored (MSC4186: extensions may grow).

`lists` and `rooms` are the core extension arguments of MSC3959/MSC3960/MSC3961; which rooms
they select is `ExtensionScope.rooms_for`. A selected room that was not in the previous
response's scope has just *entered* the response: what the extension knows of it is sent in
full, since nothing that changed while it was out of the response was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.typed_json import NonNegativeInt
from bastion.services.sliding_sync.extensions.base import ExtensionContext
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore

T = TypeVar("T")


class ScopedRequest(msgspec.Struct, frozen=True):
    """The core arguments: list names and subscribed room IDs ("*": all of them)."""

    lists: list[str] | None = None
    rooms: list[str] | None = None


class ToDeviceRequest(msgspec.Struct, frozen=True):
    """MSC3885: `limit` (at most this many messages) and `since` (the previous `next_batch`)."""

    limit: NonNegativeInt | None = None
    since: str | None = None


def parse_request(name: str, request: Mapping[str, Any], expected: type[T]) -> T:
    """The extension's request object as `expected`; 400 M_BAD_JSON when a field is wrong."""
    try:
        return msgspec.convert(request, expected, strict=True)
    except msgspec.ValidationError as exc:
        raise MatrixError(400, Errcode.BAD_JSON, f"invalid extensions.{name}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RoomSelection:
    """The rooms an extension reports on in this response, and which of them entered it now."""

    rooms: frozenset[str]
    entered: frozenset[str]

    @property
    def staying(self) -> frozenset[str]:
        """Rooms that were in the previous response too: only their changes are sent. When
        none entered, `rooms` itself (no copy of the scope's rooms)."""
        return self.rooms - self.entered if self.entered else self.rooms


def select_rooms(context: ExtensionContext, scoped: ScopedRequest) -> RoomSelection:
    """The rooms `scoped` selects in this response; all of them entered on a first request."""
    rooms = context.scope.selected(scoped.lists, scoped.rooms)
    if context.since is None:
        return RoomSelection(rooms, rooms)
    if context.previous_scope is None:
        return RoomSelection(rooms, frozenset())
    before = context.previous_scope.selected(scoped.lists, scoped.rooms)
    if before is rooms:  # the same rooms (ExtensionScope.same_rooms_as): none entered
        return RoomSelection(rooms, frozenset())
    return RoomSelection(rooms, rooms - before)


async def joined_among(
    db: Database, memberships: MembershipStore, viewer: str, room_ids: frozenset[str] | set[str]
) -> set[str]:
    """The rooms of `room_ids` the viewer is joined to (one query; none for no rooms).
    Typing and receipts are for joined rooms only, as in /sync: never an invited room's."""
    if not room_ids:
        return set()
    joined = await memberships.rooms_of_user(db, viewer, ["join"])
    return {r.room_id for r in joined if r.room_id in room_ids}
