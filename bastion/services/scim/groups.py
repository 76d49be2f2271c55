"""SCIM Groups (RFC 7644 §3): create, read, list, replace, patch and delete groups.

Invariants:
- Members are local accounts, by SCIM user id (the localpart); an unknown one is refused
  (400 invalidValue), so a group never names someone who is not there.
- A group's `displayName` is unique (409 uniqueness): Entra ID and Okta find a group by it.
- Every change is audited in its own transaction (`scim.group.create`, `scim.group.update`
  with the members added and removed, `scim.group.delete`); a refused one as failed.
- After the change commits, added members join the group's linked rooms and removed ones leave
  them (group_rooms.py), before the response: onboarding and offboarding from a group is one
  IdP action.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from scim2_models import (
    Context,
    Group,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    UniquenessException,
)

from bastion.clock import Clock
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import ScimClient, log_admin_action
from bastion.services.scim.description import PROVIDER
from bastion.services.scim.group_rooms import GroupRooms
from bastion.services.scim.listing import Page, equality_terms, filtered_page
from bastion.services.scim.resources import group_resource
from bastion.store.database import Database, Queryable
from bastion.store.protocols import UserStore
from bastion.store.protocols.scim import GroupMember, ScimGroupRow, ScimStore


class ScimGroups:
    """The `/Groups` resource operations."""

    def __init__(
        self,
        db: Database,
        store: ScimStore,
        audit: AuditTrail,
        clock: Clock,
        users: UserStore,
        group_rooms: GroupRooms,
        *,
        server_name: str,
        base_url: str,
    ) -> None:
        self._db, self._store, self._audit, self._clock = db, store, audit, clock
        self._users, self._group_rooms = users, group_rooms
        self._server_name = server_name
        self._base_url = base_url  # where /scim/v2 is published (`meta.location`, `$ref`)

    async def is_member(self, group_id: str, user_id: str) -> bool:
        """True if `user_id` is in the group (the policy's `rooms.creation: group:<id>`)."""
        return await self._store.is_member(self._db, group_id, user_id)

    async def get(self, client: ScimClient, group_id: str) -> Group:
        """One group with its members; 404 for an unknown one."""
        group = await self._group(group_id)
        members = await self._store.group_members(self._db, group_id)
        return group_resource(group, members, self._base_url)

    async def list(
        self, client: ScimClient, filter_text: str | None, start_index: int, count: int
    ) -> Page[Group]:
        """A page of the groups matching `filter_text`."""
        hints = equality_terms(filter_text)
        if "id" in hints:
            found = await self._store.get_group(self._db, hints["id"])
            groups = [found] if found is not None else []
        elif "displayname" in hints:
            found = await self._store.find_group_by_name(self._db, hints["displayname"])
            groups = [found] if found is not None else []
        else:
            groups = await self._store.list_groups(self._db)
        resources = [
            group_resource(g, await self._store.group_members(self._db, g.group_id), self._base_url)
            for g in groups
        ]
        return filtered_page(Group, resources, filter_text, start_index, count)

    async def create(self, client: ScimClient, body: dict[str, Any]) -> Group:
        """POST /Groups."""
        group_id = secrets.token_hex(16)
        async with self._audit.attempt(client, "scim.group.create", group_id):
            resource = _validated(body, Context.RESOURCE_CREATION_REQUEST)
            name = resource.display_name or ""
            members = await self._member_ids(resource)
            now = self._clock.now_ms()
            async with self._db.transaction() as txn:
                if await self._store.find_group_by_name(txn, name) is not None:
                    raise UniquenessException(detail=f"a group named {name!r} exists")
                row = ScimGroupRow(group_id, name, resource.external_id, now, now)
                await self._store.insert_group(txn, row)
                await self._store.add_members(txn, group_id, members)
                user_ids = [m.user_id for m in members]
                details = {"displayName": name, "members": user_ids}
                await self._audit.record(txn, client, "scim.group.create", group_id, details)
        log_admin_action(client, f"created group {name!r} ({group_id})")
        await self._group_rooms.join_members(group_id, user_ids)
        return await self.get(client, group_id)

    async def replace(self, client: ScimClient, group_id: str, body: dict[str, Any]) -> Group:
        """PUT /Groups/{id}: name, externalId and the whole member list."""
        return await self._update(
            client, group_id, lambda _: _validated(body, Context.RESOURCE_REPLACEMENT_REQUEST)
        )

    async def patch(self, client: ScimClient, group_id: str, body: dict[str, Any]) -> Group:
        """PATCH /Groups/{id}: members added or removed, or the name replaced."""

        def patched(current: Group) -> Group:
            with PROVIDER:
                operations = PatchOp[Group].model_validate(
                    body, scim_ctx=Context.RESOURCE_PATCH_REQUEST
                )
                operations.patch(current)
            return current

        return await self._update(client, group_id, patched)

    async def delete(self, client: ScimClient, group_id: str) -> None:
        """DELETE /Groups/{id}: its members leave its rooms."""
        async with self._audit.attempt(client, "scim.group.delete", group_id):
            await self._group(group_id)
            rooms = await self._store.group_rooms(self._db, group_id)
            members = await self._store.group_members(self._db, group_id)
            async with self._db.transaction() as txn:
                await self._store.delete_group(txn, group_id)
                await self._audit.record(txn, client, "scim.group.delete", group_id)
        log_admin_action(client, f"deleted group {group_id}")
        await self._group_rooms.remove_members(rooms, [m.user_id for m in members])

    async def _update(
        self, client: ScimClient, group_id: str, wanted_of: Callable[[Group], Group]
    ) -> Group:
        """Change a group to `wanted_of(current)`; a refusal (invalid payload included) is
        audited as failed."""
        async with self._audit.attempt(client, "scim.group.update", group_id):
            group = await self._group(group_id)
            resource = wanted_of(await self.get(client, group_id))
            wanted = await self._member_ids(resource)
            rooms = await self._store.group_rooms(self._db, group_id)
            async with self._db.transaction() as txn:
                before = {m.user_id for m in await self._store.group_members(txn, group_id)}
                wanted_ids = {m.user_id for m in wanted}
                added = sorted(wanted_ids - before)
                removed = sorted(before - wanted_ids)
                name = resource.display_name or group.display_name
                if name != group.display_name:
                    await self._require_free_name(txn, name)
                await self._store.update_group(
                    txn, group_id, name, resource.external_id, self._clock.now_ms()
                )
                await self._store.add_members(txn, group_id, wanted)
                await self._store.remove_members(txn, group_id, removed)
                details = {"added": added, "removed": removed, "displayName": name}
                await self._audit.record(txn, client, "scim.group.update", group_id, details)
        await self._group_rooms.join_members(group_id, added)
        await self._group_rooms.remove_members(rooms, removed)
        return await self.get(client, group_id)

    async def _require_free_name(self, q: Queryable, name: str) -> None:
        if await self._store.find_group_by_name(q, name) is not None:
            raise UniquenessException(detail=f"a group named {name!r} exists")

    async def _group(self, group_id: str) -> ScimGroupRow:
        group = await self._store.get_group(self._db, group_id)
        if group is None:
            raise NotFoundException(detail=f"no group {group_id!r}")
        return group

    async def _member_ids(self, resource: Group) -> Sequence[GroupMember]:
        found: dict[str, GroupMember] = {}
        for member in resource.members or []:
            value = member.value or ""
            user_id = f"@{value.lower()}:{self._server_name}"
            user = await self._users.get_user(self._db, user_id)
            if not value or user is None:
                raise InvalidValueException(detail=f"unknown member {value!r}")
            found[user_id] = GroupMember(user_id, member.display)
        return [found[user_id] for user_id in sorted(found)]


def _validated(body: dict[str, Any], context: Context) -> Group:
    with PROVIDER:
        return Group.model_validate(body, scim_ctx=context)
