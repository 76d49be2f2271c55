"""History visibility as a pure decision (spec: client-server-api#room-history-visibility).

Inputs are timelines, not state maps: the viewer's own membership changes in the room and the
room's history-visibility changes, each as (stream position, value) in stream order. The state
"at" an event is the state before it. The rules:

1. `world_readable` at the event: visible.
2. The viewer's membership at the event was `join`: visible.
3. `shared`, and the viewer joined at or after the event: visible.
4. `invited`, and the viewer's membership at the event was `invite`: visible.
5. Otherwise hidden.

For history-visibility events and the viewer's own member events, the setting before *or* after the
event counts. A viewer who left sees nothing sent after they left (rule 3 needs a later join).
The viewer's own member event that ends their join or invite (a leave, a kick, a ban, a rejected
or withdrawn invite) is always visible to them, as in Synapse: else a client never sees the room
go (a rejected invite in a room hidden from invitees, a leave that also forgot the room).
`services/visibility.py` is the only caller: every read path goes through it.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

Timeline = list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class ViewerHistory:
    """What the rules need about one viewer in one room."""

    memberships: Timeline  # the viewer's membership after each of their member events
    visibilities: Timeline  # the room's history_visibility after each change

    def membership_before(self, position: int) -> str:
        return _value_before(self.memberships, position, "leave")

    def visibility_before(self, position: int) -> str:
        return _value_before(self.visibilities, position, "shared")

    def joined_at_or_after(self, position: int) -> bool:
        start = bisect_left(self.memberships, (position, ""))
        return any(m == "join" for _, m in self.memberships[start:])


def _value_before(timeline: Timeline, position: int, default: str) -> str:
    index = bisect_left(timeline, (position, "")) - 1
    return timeline[index][1] if index >= 0 else default


def _allowed(history: ViewerHistory, position: int, membership: str, visibility: str) -> bool:
    if visibility == "world_readable" or membership == "join":
        return True
    if visibility == "invited" and membership == "invite":
        return True
    if visibility not in ("world_readable", "invited", "joined"):
        visibility = "shared"  # unknown values count as shared
    return visibility == "shared" and history.joined_at_or_after(position)


def is_visible(
    history: ViewerHistory,
    position: int,
    *,
    event_type: str,
    state_key: str | None,
    viewer: str,
    ends_membership: bool = False,
) -> bool:
    """May the viewer see the event at `position`? `ends_membership`: it is a member event
    taking someone from join or invite to leave or ban (it shows the viewer their own)."""
    if ends_membership and event_type == "m.room.member" and state_key == viewer:
        return True
    membership = history.membership_before(position)
    visibility = history.visibility_before(position)
    if _allowed(history, position, membership, visibility):
        return True
    after_position = position + 1
    if event_type == "m.room.history_visibility" and state_key == "":
        return _allowed(history, position, membership, history.visibility_before(after_position))
    if event_type == "m.room.member" and state_key == viewer:
        return _allowed(history, position, history.membership_before(after_position), visibility)
    return False
