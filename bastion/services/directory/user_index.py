"""The user directory's search terms: what a user can be found by.

A user's terms are the search tokens (`services/search/normalize.py`: case, Arabic and Polish
folding) of their full user ID and of their global display name. They are written in the
transaction that creates the account or changes the display name, and deleted in the one that
deactivates it, so the directory never lags the profile. Accounts that existed before the
directory did are indexed by `backfill` at start-up, one transaction per batch; it does nothing
once every active account has terms (every user ID has at least one token: its server name).
"""

from __future__ import annotations

import logging

from bastion.services.search.normalize import tokens
from bastion.store.database import Database, Queryable
from bastion.store.protocols import UserDirectoryStore

log = logging.getLogger(__name__)


def directory_terms(user_id: str, displayname: str | None) -> set[str]:
    """The tokens a user is found by."""
    return set(tokens(user_id)) | set(tokens(displayname or ""))


class UserDirectoryIndex:
    """Writes the terms; callers pass the transaction that changes the profile."""

    def __init__(self, store: UserDirectoryStore) -> None:
        self._store = store

    async def index(self, q: Queryable, user_id: str, displayname: str | None) -> None:
        """Replace the user's terms with those of this display name."""
        await self._store.set_terms(q, user_id, directory_terms(user_id, displayname))

    async def remove(self, q: Queryable, user_id: str) -> None:
        """Take a (deactivated) user out of the directory."""
        await self._store.delete_terms(q, user_id)

    async def backfill(self, db: Database, *, batch: int = 500) -> int:
        """Index active accounts that have no terms yet; returns how many were indexed."""
        done = 0
        while True:
            async with db.transaction() as t:
                users = await self._store.unindexed_users(t, batch)
                for user_id, displayname in users:
                    await self.index(t, user_id, displayname)
            done += len(users)
            if len(users) < batch:
                if done:
                    log.info("user directory backfill: %d accounts indexed", done)
                return done
