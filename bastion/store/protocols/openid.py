"""OpenID tokens (services/openid.py). See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

from bastion.store.database import Queryable


class OpenIdStore(Protocol):
    """Issued OpenID tokens, by the HMAC of the token."""

    async def insert_token(
        self, q: Queryable, token_hash: str, user_id: str, expires_ts: int
    ) -> None: ...
    async def delete_expired(self, q: Queryable, now_ms: int) -> int: ...
    async def find_active_owner(self, q: Queryable, token_hash: str, now_ms: int) -> str | None: ...
