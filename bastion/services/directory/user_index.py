"""The user directory's search terms: what a user can be found by.

A user's terms are the search tokens (`services/search/normalize.py`: case, Arabic and Polish
folding) of their full user ID and of their global display name. They are written in the
transaction that creates the account or changes the display name, and deleted in the one that
deactivates it, so the directory never lags the profile. Accounts that existed before the
directory did are indexed by `backfill_batch` (run at start-up by `workers/backfills.py`), one
transaction per batch; the progress is the terms themselves (the next batch is accounts still
without any), so it resumes where it stopped and does nothing once every active account has
terms (every user ID has at least one token: its server name).
"""

from __future__ import annotations

from bastion.services.search.normalize import tokens
from bastion.store.database import Database, Queryable
from bastion.store.protocols import UserDirectoryStore


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

    async def backfill_batch(self, db: Database, *, batch: int = 500) -> int:
        """Index one batch of active accounts that have no terms yet, in one transaction;
        returns how many were indexed (fewer than `batch`: nothing is left)."""
        async with db.transaction() as t:
            users = await self._store.unindexed_users(t, batch)
            for user_id, displayname in users:
                await self.index(t, user_id, displayname)
        return len(users)
