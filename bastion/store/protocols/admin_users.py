"""The admin's view of accounts: filtered, ordered, paged lists, and the admin-only writes.

`UserListQuery.order_by` is one of `USER_ORDERS` (the service refuses anything else before a
query is built, so no client text ever reaches SQL); ties are broken by user ID, so paging by
offset is stable. "Locked" means locked by an admin (`admin_locked`) or locked out after wrong
passwords until a time still in the future (`locked_until_ts > now_ms`).
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable

# Synapse's allow-list for `order_by` on `GET /_synapse/admin/v2/users`.
USER_ORDERS = (
    "name",
    "displayname",
    "is_guest",
    "admin",
    "deactivated",
    "user_type",
    "avatar_url",
    "shadow_banned",
    "creation_ts",
    "last_seen_ts",
    "locked",
)

# Synapse's allow-list for `order_by` on `GET /_synapse/admin/v1/users/{userId}/media`.
MEDIA_ORDERS = (
    "media_id",
    "upload_name",
    "created_ts",
    "last_access_ts",
    "media_length",
    "media_type",
    "quarantined_by",
    "safe_from_quarantine",
)


class UserListQuery(msgspec.Struct, frozen=True):
    """Filters (None: no filter), order and page of an account list."""

    user_id: str | None = None  # substring of the user ID
    name: str | None = None  # substring of the localpart or the display name
    deactivated: bool | None = None
    admins: bool | None = None
    locked: bool | None = None
    order_by: str = "name"
    backwards: bool = False
    start: int = 0
    limit: int = 100


class UserListRow(msgspec.Struct, frozen=True):
    """One account as the admin lists show it."""

    user_id: str
    is_admin: bool
    is_deactivated: bool
    is_locked: bool
    displayname: str | None
    avatar_url: str | None
    created_ts: int  # ms
    last_seen_ts: int | None  # ms, the latest of its devices
    shadow_banned: bool = False


class MediaListQuery(msgspec.Struct, frozen=True):
    """Order and page of a user's uploads."""

    order_by: str = "created_ts"
    backwards: bool = True
    start: int = 0
    limit: int = 100


class UserMediaRow(msgspec.Struct, frozen=True):
    """One uploaded file of a user."""

    media_id: str
    created_ts: int
    media_length: int | None
    media_type: str | None
    upload_name: str | None
    quarantined_by: str | None = None
    last_access_ts: int | None = None
    safe_from_quarantine: bool = False


class MemberEventSent(msgspec.Struct, frozen=True):
    """A member event an account sent: in which room, about whom, the membership it set and the
    one it replaced (None: the target's first in the room)."""

    room_id: str
    target: str
    membership: str
    previous: str | None


class UserAdminStore(Protocol):
    """Queries and writes only the admin API needs."""

    async def member_events_sent(
        self, q: Queryable, user_id: str, from_ts: int
    ) -> list[MemberEventSent]: ...
    async def list_users(
        self, q: Queryable, query: UserListQuery, now_ms: int
    ) -> tuple[list[UserListRow], int]: ...
    async def last_seen(self, q: Queryable, user_id: str) -> int | None: ...
    async def set_admin(self, q: Queryable, user_id: str, is_admin: bool) -> None: ...
    async def ratelimit_of(self, q: Queryable, user_id: str) -> tuple[int, int] | None: ...
    async def set_ratelimit(
        self, q: Queryable, user_id: str, override: tuple[int, int] | None
    ) -> None: ...
    async def set_shadow_banned(self, q: Queryable, user_id: str, banned: bool) -> None: ...
    async def reactivate(self, q: Queryable, user_id: str) -> None: ...
    async def joined_rooms(self, q: Queryable, user_id: str) -> list[str]: ...
    async def memberships(self, q: Queryable, user_id: str) -> dict[str, str]: ...
    async def list_media(
        self, q: Queryable, user_id: str, query: MediaListQuery
    ) -> tuple[list[UserMediaRow], int]: ...
