"""SCIM provisioning store (see migrations/0021_create_scim.sql for the model).

Accounts stay in `users`; this store keeps what SCIM adds to them (the identity provider's
`userName` and `externalId`), the IdPs' bearer tokens (HMACs only), groups, group members and
the rooms a group is linked to. See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class ScimTokenRow(msgspec.Struct, frozen=True):
    """An identity provider's token, by the name it was issued under (never the token)."""

    name: str
    created_ts: int
    last_used_ts: int | None


class ScimAccountRow(msgspec.Struct, frozen=True):
    """An account as SCIM shows it: `users` joined with its profile and its SCIM facts.

    `user_name` and `external_id` are None for an account SCIM did not create or touch. An
    account SCIM deleted is never one of these rows."""

    user_id: str
    displayname: str | None
    is_deactivated: bool
    manager: str | None
    created_ts: int
    user_name: str | None
    external_id: str | None
    updated_ts: int | None
    attributes: str  # JSON object: what SCIM keeps for the IdP and Bastion does not act on


class AccountFacts(msgspec.Struct, frozen=True):
    """What SCIM stores about an account beside `users` and `profiles`."""

    user_id: str
    user_name: str
    external_id: str | None
    attributes: str  # JSON object
    now_ms: int


class GroupMember(msgspec.Struct, frozen=True):
    """A group's member and the label the IdP gave them (`display`)."""

    user_id: str
    display: str | None = None


class ScimGroupRow(msgspec.Struct, frozen=True):
    """A group the identity provider pushed."""

    group_id: str
    display_name: str
    external_id: str | None
    created_ts: int
    updated_ts: int


class AccountQuery(msgspec.Struct, frozen=True):
    """Narrows a listing of accounts (None: no condition)."""

    user_id: str | None = None
    external_id: str | None = None


class ScimStore(Protocol):
    """Tokens, SCIM facts about accounts, groups, members and linked rooms."""

    async def insert_token(self, q: Queryable, name: str, token_hash: str, now_ms: int) -> None: ...
    async def delete_token(self, q: Queryable, name: str) -> bool: ...
    async def list_tokens(self, q: Queryable) -> list[ScimTokenRow]: ...
    async def find_token(self, q: Queryable, token_hash: str) -> str | None: ...
    async def touch_token(self, q: Queryable, name: str, now_ms: int) -> None: ...

    async def find_accounts(self, q: Queryable, query: AccountQuery) -> list[ScimAccountRow]: ...
    async def upsert_account_facts(self, q: Queryable, facts: AccountFacts) -> None: ...
    async def mark_deleted(self, q: Queryable, user_id: str, now_ms: int) -> None: ...
    async def reactivate_account(
        self, q: Queryable, user_id: str, password_hash: str | None
    ) -> None: ...

    async def insert_group(self, q: Queryable, group: ScimGroupRow) -> None: ...
    async def update_group(
        self, q: Queryable, group_id: str, display_name: str, external_id: str | None, now_ms: int
    ) -> None: ...
    async def delete_group(self, q: Queryable, group_id: str) -> bool: ...
    async def get_group(self, q: Queryable, group_id: str) -> ScimGroupRow | None: ...
    async def list_groups(self, q: Queryable) -> list[ScimGroupRow]: ...
    async def find_group_by_name(self, q: Queryable, display_name: str) -> ScimGroupRow | None: ...
    async def group_members(self, q: Queryable, group_id: str) -> list[GroupMember]: ...
    async def add_members(
        self, q: Queryable, group_id: str, members: Sequence[GroupMember]
    ) -> None: ...
    async def remove_members(
        self, q: Queryable, group_id: str, user_ids: Sequence[str]
    ) -> None: ...
    async def is_member(self, q: Queryable, group_id: str, user_id: str) -> bool: ...
    async def groups_of_user(self, q: Queryable, user_id: str) -> list[str]: ...
    async def group_rooms(self, q: Queryable, group_id: str) -> list[str]: ...
    async def set_group_rooms(
        self, q: Queryable, group_id: str, room_ids: Sequence[str]
    ) -> None: ...
