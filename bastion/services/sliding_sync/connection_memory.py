"""What a sliding-sync connection has as of one pos (`ConnectionMemory`), and what the no-write
answers of this process derived on top of it (`Derived`); connection.py opens and stores them
and states the invariants. A memory is never changed once another request may read it:
`advanced` copies it for the next pos.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from bastion.services.sliding_sync.extensions.base import ExtensionScope
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.positions import OrderChain, Position
from bastion.services.sliding_sync.room_model import RoomMemory
from bastion.store.protocols.sliding_sync import ConnectionRow


@dataclass(frozen=True, slots=True)
class Derived:
    """What the no-write answers since the stored position changed, kept by the process that
    gave them (module docstring): the order as stored, the rooms re-bumped on it since, and the
    room memories the stored ones lack. A response that writes stores all of it."""

    stored_order: ListOrder | None
    moved: Mapping[str, int]
    rooms: Mapping[str, RoomMemory]


@dataclass(slots=True)
class ConnectionMemory:
    """What the connection has as of the request's pos (empty for a new connection)."""

    row: ConnectionRow
    seq: int  # 0: new, nothing stored yet
    since: int | None  # the stream position the client has (None: its first request)
    since_ephemeral: int | None
    scope: ExtensionScope | None = None  # the rooms the previous response covered
    superseded: bool = False  # positions other than this one are still stored
    newest: bool = False  # nothing was stored after this position
    order: ListOrder | None = None  # the lists' order the previous response computed
    chain: OrderChain | None = None  # the snapshot `order` was stored against
    # memories read so far (Connections.room_memories), by room; absent: not read yet
    rooms: dict[str, RoomMemory] = field(default_factory=dict)
    positions: int = 0  # positions stored (seq > 0)
    version: int = 0  # the stored position row's version (random; 0: none)
    inline: dict[str, msgspec.Raw] = field(default_factory=dict)  # memories in the position row
    fast: bool = False  # position `seq` was stored by the one-statement path
    absent: set[str] = field(default_factory=set)  # rooms known to have no memory
    complete: bool = False  # every memory was read: a room not in `rooms`/`inline` has none
    cached: bool = False  # opened from this process's memory, not the database
    ticket: int = 0  # order of the requests opened in this process (later: greater)
    # a no-write pos (`Position.base`): the stream position the stored memory is exact as of
    base: int | None = None
    # at a no-write pos answered by this process: what it derived since `base` (then `order`,
    # `scope` and `rooms` are exact as of `since`, and nothing is derived again)
    derived: Derived | None = None

    def advanced(self, token: Position, **changes: object) -> ConnectionMemory:
        """A copy as of `token` (shares nothing mutable with this one)."""
        fields = {
            "row": self.row, "seq": token.seq, "since": token.upto,
            "since_ephemeral": token.ephemeral, "scope": self.scope,
            "superseded": self.superseded, "newest": True, "order": self.order,
            "chain": self.chain, "positions": self.positions,
            "version": self.version, "fast": self.fast,
            "complete": self.complete, "cached": True,
            "ticket": self.ticket, "base": token.base, "derived": self.derived,
        }  # fmt: skip
        fields.update(changes)
        # the mutable ones, copied only when not given (a thousand rooms' memories: a copy
        # made and thrown away on every woken request otherwise)
        if "rooms" not in fields:
            fields["rooms"] = dict(self.rooms)
        if "inline" not in fields:
            fields["inline"] = dict(self.inline)
        if "absent" not in fields:
            fields["absent"] = set(self.absent)
        return ConnectionMemory(**fields)  # type: ignore[arg-type]

    def with_derived(
        self, changed: Mapping[str, RoomMemory], moved: Mapping[str, int] | None
    ) -> tuple[Mapping[str, RoomMemory], ListOrder | None, Mapping[str, int] | None]:
        """(the memories to store, the order stored at the pos, the rooms re-bumped on it): a
        response that writes after no-write answers of this process stores what they sent too."""
        derived = self.derived
        if derived is None:
            return changed, self.order, moved
        moved = None if moved is None else {**derived.moved, **moved}
        return {**derived.rooms, **changed}, derived.stored_order, moved
