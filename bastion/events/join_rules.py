"""What an `m.room.join_rules` event says about who may join without an invite: shared by the
joins themselves (services/rooms/restricted_joins.py) and by what the directory shows of a room
(services/directory/: summaries, space hierarchies)."""

from __future__ import annotations

from typing import Any

from bastion.events.types import JoinRule

# The join rules whose `allow` conditions admit the members of other rooms (rooms v8 and later).
RESTRICTED_JOIN_RULES = frozenset({JoinRule.RESTRICTED, JoinRule.KNOCK_RESTRICTED})
# The member-event key naming the member in whose name a restricted join is admitted.
JOIN_AUTHORISER = "join_authorised_via_users_server"


def allowed_room_ids(join_rules: dict[str, Any] | None) -> list[str]:
    """The rooms whose joined members a restricted join rule admits: its `allow` list's
    `m.room_membership` entries (spec: client-server-api#restricted-rooms; any other kind of
    entry, or a malformed one, admits nobody). A redaction keeps `allow` from room version 8."""
    allow = join_rules.get("allow") if join_rules is not None else None
    if not isinstance(allow, list):
        return []
    return [
        a["room_id"]
        for a in allow
        if isinstance(a, dict)
        and a.get("type") == "m.room_membership"
        and isinstance(a.get("room_id"), str)
    ]
