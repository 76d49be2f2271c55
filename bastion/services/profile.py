"""Profiles: display name, avatar URL and the other fields (spec v1.16; profile_fields.py).

A display name change rewrites the user's directory terms in the same transaction
(services/directory/user_index.py), so the user directory finds the new name at once.

After a change commits, the `members` listener (services/rooms/member_profiles.py, wired in
app/wiring.py so this module needs nothing from rooms/) sends the new profile into the member
event of every room the user is joined to. It never raises for one room's failure, so the
profile change is not undone or refused because a room would not take it.
"""

from __future__ import annotations

from typing import Any, Protocol

from bastion.errors import Errcode, MatrixError
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.principal import Requester
from bastion.services.profile_fields import (
    AVATAR_URL,
    DISPLAYNAME,
    TIME_ZONE,
    check_field_name,
    check_profile_size,
    check_time_zone,
    encoded_value,
)
from bastion.services.shadow_ban import dropped
from bastion.store.database import Database, Queryable
from bastion.store.protocols import ProfileStore, UserStore
from bastion.store.records import ProfileRecord

MAX_DISPLAYNAME_LENGTH = 256
MAX_AVATAR_URL_LENGTH = 1000


class ProfileListener(Protocol):
    """Told after a user's profile change has committed."""

    async def profile_changed(self, user_id: str) -> None: ...


class ActiveCheck(Protocol):
    """Refuses a suspended account's change (services/suspensions.py)."""

    async def require_active(self, user_id: str) -> None: ...


class ProfileService:
    """Reads anyone's profile; changes only one's own."""

    def __init__(
        self,
        db: Database,
        users: UserStore,
        profiles: ProfileStore,
        directory: UserDirectoryIndex,
        *,
        members: ProfileListener,
        suspensions: ActiveCheck | None = None,
    ) -> None:
        self._db = db
        self._suspensions = suspensions
        self._users = users
        self._profiles = profiles
        self._directory = directory
        self._members = members

    async def get_profile(self, user_id: str) -> ProfileRecord:
        """The profile of an existing account, or 404 M_NOT_FOUND."""
        user = await self._users.get_user(self._db, user_id)
        if user is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no profile for {user_id}")
        profile = await self._profiles.get_profile(self._db, user_id)
        return profile or ProfileRecord(displayname=None, avatar_url=None)

    async def full_profile(self, user_id: str) -> dict[str, Any]:
        """Every field of an existing account's profile that is set (404 for no account)."""
        profile = await self.get_profile(user_id)
        fields = await self._profiles.get_fields(self._db, user_id)
        named = {DISPLAYNAME: profile.displayname, AVATAR_URL: profile.avatar_url}
        return fields | {name: value for name, value in named.items() if value is not None}

    async def get_field(self, user_id: str, name: str) -> dict[str, Any]:
        """`{name: value}`; 404 M_NOT_FOUND for an unset extended field. An unset display name
        or avatar answers `{}`, as these two always have (clients read it as "none")."""
        check_field_name(name)
        profile = await self.full_profile(user_id)
        if name in profile:
            return {name: profile[name]}
        if name in (DISPLAYNAME, AVATAR_URL):
            return {}
        raise MatrixError(404, Errcode.NOT_FOUND, f"{user_id} has no profile field {name}")

    async def set_field(
        self, requester: Requester, user_id: str, name: str, body: dict[str, Any]
    ) -> None:
        """`PUT /profile/{userId}/{keyName}`: `body` holds the value under `name`. The display
        name and avatar keep their own checks and reach the rooms' member events."""
        self._require_self(requester, user_id)
        check_field_name(name)
        if name not in body:
            raise MatrixError(400, Errcode.MISSING_PARAM, f"The body has no {name!r} property")
        value = body[name]
        if name in (DISPLAYNAME, AVATAR_URL) and value is not None and not isinstance(value, str):
            raise MatrixError(400, Errcode.BAD_JSON, f"{name} must be a string")
        if name == TIME_ZONE:
            check_time_zone(value)
        await self._require_active(user_id)
        profile = await self.full_profile(user_id)
        check_profile_size(profile | {name: value})
        if name == DISPLAYNAME:
            await self.set_displayname(requester, user_id, value)
        elif name == AVATAR_URL:
            await self.set_avatar_url(requester, user_id, value)
        else:
            stored = encoded_value(value)
            async with self._db.transaction() as t:
                await self._profiles.set_field(t, user_id, name, stored)

    async def delete_field(self, requester: Requester, user_id: str, name: str) -> None:
        """`DELETE /profile/{userId}/{keyName}`: gone, or was never there."""
        self._require_self(requester, user_id)
        check_field_name(name)
        await self._require_active(user_id)
        if name == DISPLAYNAME:
            await self.set_displayname(requester, user_id, None)
        elif name == AVATAR_URL:
            await self.set_avatar_url(requester, user_id, None)
        else:
            async with self._db.transaction() as t:
                await self._profiles.delete_field(t, user_id, name)

    async def set_displayname(self, requester: Requester, user_id: str, value: str | None) -> None:
        """Change one's display name."""
        self._require_self(requester, user_id)
        await self._require_active(user_id)
        if value is not None and len(value) > MAX_DISPLAYNAME_LENGTH:
            raise MatrixError(400, Errcode.INVALID_PARAM, "displayname is too long")
        async with self._db.transaction() as t:
            await self._profiles.set_displayname(t, user_id, value or None)
            await self._directory.index(t, user_id, value or None)
        if not dropped(requester, "the display name's member events"):
            await self._members.profile_changed(user_id)

    async def set_avatar_url(self, requester: Requester, user_id: str, value: str | None) -> None:
        """Change one's avatar (an `mxc://` URI, or empty to clear it)."""
        self._require_self(requester, user_id)
        await self._require_active(user_id)
        if value and (len(value) > MAX_AVATAR_URL_LENGTH or not value.startswith("mxc://")):
            raise MatrixError(400, Errcode.INVALID_PARAM, "avatar_url must be an mxc:// URI")
        async with self._db.transaction() as t:
            await self._profiles.set_avatar_url(t, user_id, value or None)
        if not dropped(requester, "the avatar's member events"):
            await self._members.profile_changed(user_id)

    async def _require_active(self, user_id: str) -> None:
        if self._suspensions is not None:
            await self._suspensions.require_active(user_id)

    async def write_for_admin(
        self, q: Queryable, user_id: str, *, displayname: str | None, avatar_url: str | None
    ) -> None:
        """An admin's change to someone's profile, in the caller's (audited) transaction.

        Only the fields passed as non-None change; an empty string clears one. The caller calls
        `announce` after commit so the member events follow."""
        if displayname is not None:
            if len(displayname) > MAX_DISPLAYNAME_LENGTH:
                raise MatrixError(400, Errcode.INVALID_PARAM, "displayname is too long")
            await self._profiles.set_displayname(q, user_id, displayname or None)
            await self._directory.index(q, user_id, displayname or None)
        if avatar_url is not None:
            if avatar_url and (
                len(avatar_url) > MAX_AVATAR_URL_LENGTH or not avatar_url.startswith("mxc://")
            ):
                raise MatrixError(400, Errcode.INVALID_PARAM, "avatar_url must be an mxc:// URI")
            await self._profiles.set_avatar_url(q, user_id, avatar_url or None)

    async def announce(self, user_id: str) -> None:
        """After commit of `write_for_admin`: the rooms learn the new profile."""
        await self._members.profile_changed(user_id)

    @staticmethod
    def _require_self(requester: Requester, user_id: str) -> None:
        if requester.user_id != user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "You may only change your own profile")
