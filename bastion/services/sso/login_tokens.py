"""Login tokens: what the SSO callback hands the client to exchange at `POST /login`.

spec: client-server-api#login ("m.login.token"): the token "must encode the user ID"; ours is
256 random bits whose HMAC (auth.py's, as for access tokens) names the user in the database.
It is single use (taking it deletes it, in one statement, so two logins cannot both get it) and
lives two minutes (the spec suggests seconds; a user may take a moment on the confirmation
page). Issuing one deletes the expired ones, so the table stays small.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.store.database import Database, Queryable
from bastion.store.protocols.sso import LoginTokenOwner, SsoStore

LOGIN_TOKEN_LIFETIME_MS = 2 * 60 * 1000


class InvalidLoginToken(MatrixError):
    """spec: `POST /login` answers 403 M_FORBIDDEN for a login token that is not valid."""

    def __init__(self) -> None:
        super().__init__(403, Errcode.FORBIDDEN, "Invalid or expired login token")


class LoginTokens:
    """Issues and takes login tokens."""

    def __init__(
        self, db: Database, store: SsoStore, clock: Clock, hash_token: Callable[[str], str]
    ) -> None:
        self._db = db
        self._store = store
        self._clock = clock
        self._hash = hash_token

    async def issue(self, q: Queryable, owner: LoginTokenOwner) -> str:
        """A new token for `owner`, written in `q`'s transaction."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        await self._store.delete_expired_login_tokens(q, now)
        await self._store.insert_login_token(
            q, self._hash(token), owner, now + LOGIN_TOKEN_LIFETIME_MS
        )
        return token

    async def redeem(self, token: str) -> LoginTokenOwner:
        """The owner of a live token, which is used up; `InvalidLoginToken` otherwise (what
        `POST /login` and the admin console's SSO sign-in both ask)."""
        owner = await self.take(token)
        if owner is None:
            raise InvalidLoginToken
        return owner

    async def take(self, token: str) -> LoginTokenOwner | None:
        """The owner of a live token, which is used up; None if unknown, used or expired."""
        if not token:
            return None
        async with self._db.transaction() as txn:
            return await self._store.take_login_token(txn, self._hash(token), self._clock.now_ms())
