"""Admin console sessions (see migrations/0025_create_console_sessions.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class ConsoleSessionRow(msgspec.Struct, frozen=True):
    """One stored console session (`session_hash` is the HMAC of the cookie's value)."""

    session_hash: str
    user_id: str
    device_id: str
    csrf_token: str
    language: str
    created_ts: int
    last_seen_ts: int


class LiveConsoleSession(msgspec.Struct, frozen=True):
    """A session with what its account and device are now: read in one query per request."""

    row: ConsoleSessionRow
    is_admin: bool
    is_usable: bool  # the account is neither deactivated nor locked, and the device exists


class ConsoleSessionStore(Protocol):
    """Console sessions by the hash of their cookie."""

    async def insert(self, q: Queryable, row: ConsoleSessionRow) -> None: ...
    async def find(self, q: Queryable, session_hash: str) -> LiveConsoleSession | None: ...
    async def touch(self, q: Queryable, session_hash: str, now_ms: int) -> None: ...
    async def set_language(self, q: Queryable, session_hash: str, language: str) -> None: ...
    async def delete(self, q: Queryable, session_hash: str) -> None: ...


class DashboardStore(Protocol):
    """The counts of the console's dashboard (read-only)."""

    async def count_active_users(self, q: Queryable, since_ts: int) -> int: ...
    async def messages_per_day(self, q: Queryable, since_ts: int) -> dict[int, int]: ...
    async def count_open_dlp_reviews(self, q: Queryable) -> int: ...
