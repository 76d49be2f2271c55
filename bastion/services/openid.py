"""OpenID tokens (spec: client-server-api#openid, server-server-api#openid): how a user proves
their Matrix ID to a third party without giving it their access token. A widget or Element
Call's token service gets a token from the client (`request_token`) and asks this server who it
belongs to (`userinfo`, at the federation path third parties call).

A token is 256 random bits, stored as the HMAC of access tokens (auth.py), valid one hour. It
names its user only while the account is active: a deactivated (offboarded) or admin-locked
account's tokens answer 401 M_UNKNOWN_TOKEN at once, on every process (the check is in the
lookup, no cache). Issuing one deletes the expired ones, so the table holds at most an hour's
worth.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols.openid import OpenIdStore

TOKEN_LIFETIME_S = 3600


class OpenIdService:
    """Issues OpenID tokens and says whose they are."""

    def __init__(
        self,
        db: Database,
        store: OpenIdStore,
        clock: Clock,
        hash_token: Callable[[str], str],
        server_name: str,
    ) -> None:
        self._db = db
        self._store = store
        self._clock = clock
        self._hash = hash_token
        self._server_name = server_name

    async def request_token(self, requester: Requester, user_id: str) -> JsonObject:
        """A new token for the requester's own user ID (403 for anyone else's)."""
        if user_id != requester.user_id:
            raise MatrixError(
                403, Errcode.FORBIDDEN, "Cannot request OpenID tokens for other users"
            )
        token = secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        async with self._db.transaction() as txn:
            await self._store.delete_expired(txn, now)
            await self._store.insert_token(
                txn, self._hash(token), user_id, now + TOKEN_LIFETIME_S * 1000
            )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "matrix_server_name": self._server_name,
            "expires_in": TOKEN_LIFETIME_S,
        }

    async def userinfo(self, token: str | None) -> JsonObject:
        """`{"sub": user_id}` for a valid token; 401 M_UNKNOWN_TOKEN otherwise."""
        owner = None
        if token:
            owner = await self._store.find_active_owner(
                self._db, self._hash(token), self._clock.now_ms()
            )
        if owner is None:
            raise MatrixError(401, Errcode.UNKNOWN_TOKEN, "Access token unknown or expired")
        return {"sub": owner}
