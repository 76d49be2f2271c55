"""The seam between the connection code (lists, subscriptions, positions: connection.py and
lists.py) and the room results (room_results.py): what a room's config is, what the connection
remembers having sent for a room, and what building a room returns.

The connection combines every list and subscription that selects a room into one `RoomConfig`
(MSC4186 "Combining room configs": the largest `timeline_limit`, the union of `required_state`),
passes what it remembers (`RoomMemory`, stored in the database with the connection), and stores
the `RoomResult.memory` it gets back once the response is sent, so the next response sends only
what changed.

`RoomResult.payload` uses the merged proposal's field names (`stripped_state`, not
`invite_state`); the pre-merge dialect (Element X, matrix-rust-sdk) is produced from it by
the connection's response shaping.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.json_types import JsonObject
from bastion.store.records import MembershipRecord

# One `required_state` entry: (event type, state key); either may be "*", the key may be
# "$LAZY" (members of the timeline's senders) or "$ME" (the requester).
StateSelector = tuple[str, str]


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """What the client asked to see of one room (every list and subscription combined)."""

    timeline_limit: int
    required_state: frozenset[StateSelector]
    # merged dialect's `required_state.exclude`: matched state left out (lazy members aside)
    excluded: frozenset[StateSelector] = frozenset()


@dataclass(frozen=True, slots=True)
class RoomMemory:
    """What this connection already sent for one room (absent: nothing, so `initial`)."""

    sent_upto: int  # stream position the room was last sent up to (its events, state)
    config: RoomConfig  # the config it was sent with (an expansion sends the difference)
    lazy_members: frozenset[str]  # members whose m.room.member was sent under $LAZY
    membership: str  # the requester's membership when last sent (join/invite/knock/leave/ban)


@dataclass(frozen=True, slots=True)
class RoomResult:
    """One room's part of a response, whether it is news, and what to remember for it."""

    payload: JsonObject
    news: bool  # False: nothing changed, and the room may be left out of the response
    memory: RoomMemory
    bump_stamp: int  # the position of the room's last "proper" activity (MSC4186)


@dataclass(frozen=True, slots=True)
class RoomToBuild:
    """One room of a response to build: the requester's membership, the combined config, and
    what the connection remembers of it."""

    membership: MembershipRecord
    config: RoomConfig
    memory: RoomMemory | None

    @property
    def room_id(self) -> str:
        return self.membership.room_id
