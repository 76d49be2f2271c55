"""Ignored users (spec: client-server-api#ignoring-users): the global account data
`m.ignored_user_list`, and a cache of it for the read chokepoint.

The visibility service (services/visibility.py) asks `ignored_by(viewer)` for every batch of
events it filters, so /sync, /messages, /context, /event, relations and search all hide the
non-state events of ignored users, and /sync hides their invites. The list is read from the
database once per user and then kept in memory (least recently used users are dropped past
`max_users`). After a new list commits, `AccountDataService` publishes
`CacheInvalidated(IGNORED_USER_LIST, user_id)` on the bus, which drops the entry (subscribed in
app/wiring.py), so the next read after a change already applies it, in every process that
shares the bus. A read that raced with an invalidation does not store what it read.

`who_ignore(q, ...)` runs inside the pipeline's transaction and reads through it: taking a
second pool connection while holding one can exhaust a PostgreSQL pool under concurrent sends.
That transaction never writes account data, so what it reads is the committed list.

A new list must be well formed: `ignored_users` an object whose keys are user IDs and whose
values are objects (400 M_BAD_JSON / M_INVALID_PARAM), and nobody may ignore themselves (400
M_INVALID_PARAM, as Synapse does). A stored list is read leniently: whatever is not a
user ID other than the owner's is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.ids import UserID
from bastion.services.user_cache import PerUserCache
from bastion.store.database import Database, Queryable
from bastion.store.protocols import AccountDataStore

IGNORED_USER_LIST = "m.ignored_user_list"
MAX_CACHED_USERS = 100_000
_NOBODY: frozenset[str] = frozenset()


def check_ignored_user_list(owner: str, content: dict[str, Any]) -> None:
    """Refuse a malformed list, or one in which the owner ignores themselves."""
    ignored = content.get("ignored_users")
    if not isinstance(ignored, dict):
        raise MatrixError(400, Errcode.BAD_JSON, "ignored_users must be an object")
    for user_id, value in ignored.items():
        UserID.parse(user_id)  # 400 M_INVALID_PARAM
        if not isinstance(value, dict):
            raise MatrixError(400, Errcode.BAD_JSON, f"ignored_users.{user_id} must be an object")
    if owner in ignored:
        raise MatrixError(400, Errcode.INVALID_PARAM, "you cannot ignore yourself")


def ignored_in(owner: str, content: dict[str, Any] | None) -> frozenset[str]:
    """The users a stored list ignores."""
    ignored = content.get("ignored_users") if content is not None else None
    if not isinstance(ignored, dict) or not ignored:
        return _NOBODY
    return frozenset(u for u in ignored if isinstance(u, str) and u != owner)


class IgnoredUsers:
    """Who each user ignores, cached (user_cache.py)."""

    data_type = IGNORED_USER_LIST

    def __init__(
        self, db: Database, store: AccountDataStore, *, max_users: int = MAX_CACHED_USERS
    ) -> None:
        self._db = db
        self._store = store
        self._cache: PerUserCache[frozenset[str]] = PerUserCache(max_users)
        self.invalidate = self._cache.invalidate  # the bus's CacheInvalidated (app/wiring.py)
        self.clear = self._cache.clear

    async def ignored_by(self, user_id: str) -> frozenset[str]:
        """The users `user_id` ignores (one query the first time, then from memory)."""
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        stamp = self._cache.stamp()
        content = await self._store.get(self._db, user_id, "", IGNORED_USER_LIST)
        ignored = ignored_in(user_id, content)
        self._cache.keep(stamp, user_id, ignored)
        return ignored

    async def who_ignore(self, q: Queryable, sender: str, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` who ignore `sender` (one query through `q`, the caller's
        connection, for the users not cached yet)."""
        lists = {u: cached for u in user_ids if (cached := self._cache.get(u)) is not None}
        missing = [u for u in user_ids if u not in lists]
        if missing:
            stamp = self._cache.stamp()
            contents = await self._store.get_of_users(q, missing, IGNORED_USER_LIST)
            for user_id in missing:
                lists[user_id] = ignored_in(user_id, contents.get(user_id))
                self._cache.keep(stamp, user_id, lists[user_id])
        return {user_id for user_id, ignored in lists.items() if sender in ignored}

    def check(self, owner: str, content: dict[str, Any]) -> None:
        """Refuse a list the server cannot apply (see check_ignored_user_list)."""
        check_ignored_user_list(owner, content)
