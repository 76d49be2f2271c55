"""What an `m.room.join_rules` event says about who may join without an invite: shared by the
joins themselves (services/rooms/restricted_joins.py) and by what the directory shows of a room
(services/directory/: summaries, space hierarchies)."""

from __future__ import annotations

from typing import Any

from bastion.events.types import JoinRule, has_knock_restricted, has_restricted_rooms

# The member-event key naming the member in whose name a restricted join is admitted.
JOIN_AUTHORISER = "join_authorised_via_users_server"


def admits_through_rooms(join_rule: object, room_version: str) -> bool:
    """Does `join_rule` admit the members of the rooms its `allow` list names? `restricted`
    from room version 8 and `knock_restricted` from 10, the versions that introduced them
    (before, each is no join rule at all, so it admits nobody without an invite)."""
    if join_rule == JoinRule.KNOCK_RESTRICTED:
        return has_knock_restricted(room_version)
    return join_rule == JoinRule.RESTRICTED and has_restricted_rooms(room_version)


def knock_allowed(join_rule: object, room_version: str) -> bool:
    """May someone knock under `join_rule`? `knock`, and `knock_restricted` from v10."""
    return join_rule == JoinRule.KNOCK or (
        join_rule == JoinRule.KNOCK_RESTRICTED and has_knock_restricted(room_version)
    )


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
