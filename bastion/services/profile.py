"""Profiles: display name and avatar URL.

A display name change rewrites the user's directory terms in the same transaction
(services/directory/user_index.py), so the user directory finds the new name at once.
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.services.auth import Requester
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.store.database import Database
from bastion.store.protocols import ProfileStore, UserStore
from bastion.store.records import ProfileRecord

MAX_DISPLAYNAME_LENGTH = 256
MAX_AVATAR_URL_LENGTH = 1000


class ProfileService:
    """Reads anyone's profile; changes only one's own."""

    def __init__(
        self,
        db: Database,
        users: UserStore,
        profiles: ProfileStore,
        directory: UserDirectoryIndex,
    ) -> None:
        self._db = db
        self._users = users
        self._profiles = profiles
        self._directory = directory

    async def get_profile(self, user_id: str) -> ProfileRecord:
        """The profile of an existing account, or 404 M_NOT_FOUND."""
        user = await self._users.get_user(self._db, user_id)
        if user is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no profile for {user_id}")
        profile = await self._profiles.get_profile(self._db, user_id)
        return profile or ProfileRecord(displayname=None, avatar_url=None)

    async def set_displayname(self, requester: Requester, user_id: str, value: str | None) -> None:
        """Change one's display name."""
        self._require_self(requester, user_id)
        if value is not None and len(value) > MAX_DISPLAYNAME_LENGTH:
            raise MatrixError(400, Errcode.INVALID_PARAM, "displayname is too long")
        async with self._db.transaction() as t:
            await self._profiles.set_displayname(t, user_id, value or None)
            await self._directory.index(t, user_id, value or None)

    async def set_avatar_url(self, requester: Requester, user_id: str, value: str | None) -> None:
        """Change one's avatar (an `mxc://` URI, or empty to clear it)."""
        self._require_self(requester, user_id)
        if value and (len(value) > MAX_AVATAR_URL_LENGTH or not value.startswith("mxc://")):
            raise MatrixError(400, Errcode.INVALID_PARAM, "avatar_url must be an mxc:// URI")
        await self._profiles.set_avatar_url(self._db, user_id, value or None)

    @staticmethod
    def _require_self(requester: Requester, user_id: str) -> None:
        if requester.user_id != user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "You may only change your own profile")
