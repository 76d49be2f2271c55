"""Login tokens: what the SSO callback hands the client to exchange at `POST /login`.

spec: client-server-api#login ("m.login.token"): the token "must encode the user ID"; ours is
256 random bits whose HMAC (auth.py's, as for access tokens) names the user in the database.
It is single use (taking it deletes it, in one statement, so two logins cannot both get it) and
lives two minutes (the spec suggests seconds; a user may take a moment on the confirmation
page). Issuing one deletes the expired ones, so the table stays small.

A signed-in device may also ask for one for a new device (`POST /login/get_token`,
services/login_token_request.py), living as long as `[login_via_existing_session]` says. Its
owner's `idp_id` is then `session:<device ID>` (`issued_by_session`), which no provider's id can
be (config_sso.py allows no ":"): the admin console, whose SSO sign-in must have passed the
organisation's provider, takes only tokens `is_single_sign_on` (services/console/sessions.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.store.database import Database, Queryable
from bastion.store.protocols.sso import LoginTokenOwner, SsoStore

LOGIN_TOKEN_LIFETIME_MS = 2 * 60 * 1000
_SESSION_PREFIX = "session:"


def issued_by_session(user_id: str, device_id: str) -> LoginTokenOwner:
    """The owner of a token that `device_id` of `user_id` asked for (not a single sign-on)."""
    return LoginTokenOwner(user_id, _SESSION_PREFIX + device_id)


def is_single_sign_on(owner: LoginTokenOwner) -> bool:
    """Whether the token was earned by signing in with an identity provider."""
    return not owner.idp_id.startswith(_SESSION_PREFIX)


def login_details(owner: LoginTokenOwner) -> dict[str, str]:
    """How the login's audit record names where its token came from: `method` `sso:<idp id>`,
    or `m.login.token` with the device that asked for it (`issued_by_device`)."""
    if is_single_sign_on(owner):
        return {"method": f"sso:{owner.idp_id}"}
    return {"method": "m.login.token", "issued_by_device": owner.idp_id[len(_SESSION_PREFIX) :]}


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

    async def issue(
        self, q: Queryable, owner: LoginTokenOwner, lifetime_ms: int = LOGIN_TOKEN_LIFETIME_MS
    ) -> str:
        """A new token for `owner`, valid `lifetime_ms`, written in `q`'s transaction."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        await self._store.delete_expired_login_tokens(q, now)
        await self._store.insert_login_token(q, self._hash(token), owner, now + lifetime_ms)
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
