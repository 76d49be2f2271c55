"""`POST /user_directory/search` (spec: client-server-api#post_matrixclientv3user_directorysearch).

Who can be found is `user_directory.search_all_users`: everyone with an active account (the
default: an organisation's directory), or only the searcher, people who share a joined room with
them, and members of rooms with a public join rule or world-readable history (the spec's
minimum). Deactivated accounts are never found. Matching is by prefix: every token of the search
term (folded like message search, so "zolw" finds "Żółw" and Arabic typed without diacritics
finds the name written with them) must begin one of the tokens of the user's ID or display name.
"""

from __future__ import annotations

import msgspec

from bastion.events.typed_json import NonNegativeInt
from bastion.services.principal import Requester
from bastion.services.search.normalize import tokens
from bastion.store.database import Database
from bastion.store.protocols import UserDirectoryStore, UserSearch

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_SEARCH_TOKENS = 8  # more words than a name has only make the query longer


class UserSearchRequest(msgspec.Struct, frozen=True):
    """Body of `POST /user_directory/search`."""

    search_term: str
    limit: NonNegativeInt = DEFAULT_LIMIT


class DirectoryUser(msgspec.Struct, frozen=True, omit_defaults=True):
    """One result; profile fields are left out when unset."""

    user_id: str
    display_name: str | None = None
    avatar_url: str | None = None


class UserSearchResult(msgspec.Struct, frozen=True):
    """The response body."""

    results: list[DirectoryUser]
    limited: bool


def prefix_range(prefix: str) -> tuple[str, str]:
    """The `[low, high)` range of strings that start with `prefix`, in code-point order."""
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored; nothing sorts among them
        following = 0xE000
    return prefix, prefix[:-1] + chr(following)


class UserDirectoryService:
    """Searches the user directory."""

    def __init__(self, db: Database, store: UserDirectoryStore, *, search_all_users: bool) -> None:
        self._db = db
        self._store = store
        self._search_all_users = search_all_users

    async def search(self, requester: Requester, request: UserSearchRequest) -> UserSearchResult:
        """The users matching the term, at most `limit` (clamped to 1..50)."""
        limit = max(1, min(request.limit, MAX_LIMIT))
        prefixes = list(dict.fromkeys(tokens(request.search_term)))[:MAX_SEARCH_TOKENS]
        if not prefixes or any(ord(p[-1]) >= 0x10FFFF for p in prefixes):
            return UserSearchResult(results=[], limited=False)
        rows = await self._store.search(
            self._db,
            UserSearch(
                term_ranges=[prefix_range(p) for p in prefixes],
                limit=limit + 1,
                shared_with=None if self._search_all_users else requester.user_id,
            ),
        )
        results = [
            DirectoryUser(user_id=r.user_id, display_name=r.displayname, avatar_url=r.avatar_url)
            for r in rows[:limit]
        ]
        return UserSearchResult(results=results, limited=len(rows) > limit)
