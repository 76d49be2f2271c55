"""`ScimService`: the SCIM parts the API layer and other services hold, built once in
app/wiring.py. `is_member` is what the policy's `rooms.creation: group:<id>` asks."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.services.scim.group_rooms import GroupRooms
from bastion.services.scim.groups import ScimGroups
from bastion.services.scim.tokens import ScimTokens
from bastion.services.scim.users import ScimUsers


@dataclass(frozen=True, slots=True)
class ScimService:
    """Tokens, users, groups and group-linked rooms."""

    tokens: ScimTokens
    users: ScimUsers
    groups: ScimGroups
    group_rooms: GroupRooms

    async def is_member(self, group_id: str, user_id: str) -> bool:
        """True if `user_id` is a member of SCIM group `group_id`."""
        return await self.groups.is_member(group_id, user_id)
