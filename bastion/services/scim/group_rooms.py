"""Rooms linked to a SCIM group: members are joined when they are added to the group and leave
when they are removed from it (or the group is deleted).

Invariants:
- Onboarding is one IdP action: a member added to a group is joined to its rooms before the
  SCIM response, by the server acting for that local account (their own join event).
- An invite-only room is entered by invitation first (services/rooms/room_entry.py, as an
  admin's join: a joined local member whose power reaches the room's `invite` level invites,
  then the new member joins). A room that still refuses (a ban, no member with power) is logged
  and skipped, never failing the provisioning call; the result says which rooms were not
  joined.
- A member removed from a group leaves the group's rooms, except rooms another of their groups
  is still linked to. Unlinking a room removes nobody (an admin's choice, not a leaver's).
- Linking is a Bastion admin API action (`group.rooms.set`), audited with the new room list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bastion.errors import Errcode, MatrixError
from bastion.events.types import Membership
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Principal, log_admin_action
from bastion.services.rooms.membership import MembershipService
from bastion.services.rooms.room_entry import EntryStores, RoomEntry, acting_as
from bastion.store.database import Database
from bastion.store.protocols.scim import ScimStore

logger = logging.getLogger(__name__)

GROUP_REASON = "member of a linked group"


@dataclass(slots=True)
class RoomChanges:
    """What joining or removing members did, room by room."""

    joined: dict[str, list[str]] = field(default_factory=dict)  # user ID → rooms
    left: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)


class GroupRooms:
    """Links groups to rooms, and keeps members' room memberships in step."""

    def __init__(
        self,
        db: Database,
        store: ScimStore,
        audit: AuditTrail,
        membership: MembershipService,
        stores: EntryStores,
        entry: RoomEntry,
    ) -> None:
        self._db, self._store, self._audit = db, store, audit
        self._membership, self._stores, self._entry = membership, stores, entry

    async def linked_rooms(self, actor: Principal, group_id: str) -> list[str]:
        """The rooms a group is linked to (admins only); 404 for an unknown group."""
        actor.require_admin()
        await self._require_group(group_id)
        return await self._store.group_rooms(self._db, group_id)

    async def link(self, actor: Principal, group_id: str, room_ids: Sequence[str]) -> RoomChanges:
        """Link a group to exactly `room_ids`; its members join the rooms at once."""
        actor.require_admin()
        wanted = sorted(set(room_ids))
        async with self._audit.attempt(actor, "group.rooms.set", group_id):
            await self._require_group(group_id)
            for room_id in wanted:
                if await self._stores.rooms.get_room(self._db, room_id) is None:
                    raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
            async with self._db.transaction() as txn:
                await self._store.set_group_rooms(txn, group_id, wanted)
                details = {"rooms": wanted}
                await self._audit.record(txn, actor, "group.rooms.set", group_id, details)
        log_admin_action(actor, f"linked group {group_id} to {len(wanted)} rooms")
        members = await self._store.group_members(self._db, group_id)
        return await self.join_members(group_id, [m.user_id for m in members])

    async def join_members(self, group_id: str, user_ids: Sequence[str]) -> RoomChanges:
        """Join `user_ids` to the group's rooms (after the membership change committed)."""
        changes = RoomChanges()
        rooms = await self._store.group_rooms(self._db, group_id)
        for user_id in user_ids:
            for room_id in rooms:
                await self._join(user_id, room_id, changes)
        return changes

    async def join_user_to_group_rooms(self, user_id: str) -> RoomChanges:
        """Join a (reactivated) user to the rooms of every group they are in."""
        changes = RoomChanges()
        for group_id in await self._store.groups_of_user(self._db, user_id):
            for room_id in await self._store.group_rooms(self._db, group_id):
                await self._join(user_id, room_id, changes)
        return changes

    async def remove_members(self, room_ids: Sequence[str], user_ids: Sequence[str]) -> RoomChanges:
        """Take users who left a group out of its rooms `room_ids` (read before the removal),
        keeping rooms their remaining groups link to."""
        changes = RoomChanges()
        for user_id in user_ids:
            kept: set[str] = set()
            for other in await self._store.groups_of_user(self._db, user_id):
                kept.update(await self._store.group_rooms(self._db, other))
            for room_id in room_ids:
                if room_id not in kept:
                    await self._leave(user_id, room_id, changes)
        return changes

    async def _join(self, user_id: str, room_id: str, changes: RoomChanges) -> None:
        memberships = self._stores.memberships
        current = await memberships.get_membership(self._db, user_id, room_id)
        if current is not None and current.membership == Membership.JOIN:
            return
        user = await self._stores.users.get_user(self._db, user_id)
        if user is None or user.is_deactivated:
            return
        try:
            await self._entry.enter(user_id, room_id, GROUP_REASON)
        except MatrixError as exc:
            logger.warning("could not join %s to %s: %s", user_id, room_id, exc.message)
            changes.refused.setdefault(user_id, []).append(room_id)
            return
        changes.joined.setdefault(user_id, []).append(room_id)

    async def _leave(self, user_id: str, room_id: str, changes: RoomChanges) -> None:
        current = await self._stores.memberships.get_membership(self._db, user_id, room_id)
        if current is None or current.membership not in (Membership.JOIN, Membership.INVITE):
            return
        try:
            await self._membership.leave(acting_as(user_id), room_id, "removed from a linked group")
        except MatrixError as exc:
            logger.warning("could not remove %s from %s: %s", user_id, room_id, exc.message)
            changes.refused.setdefault(user_id, []).append(room_id)
            return
        changes.left.setdefault(user_id, []).append(room_id)

    async def _require_group(self, group_id: str) -> None:
        if await self._store.get_group(self._db, group_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown group {group_id!r}")
