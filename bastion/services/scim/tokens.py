"""The identity providers' SCIM bearer tokens: issued by name, stored as an HMAC, revoked by name.

A token is shown once, when issued (`bastion scim-token create` prints it as its last line);
the database keeps only `HMAC-SHA256(token_hmac_key, token)`, as for access tokens, so a copy
of the database authenticates no one. Issuing and revoking are admin actions, audited as
`scim.token.create` / `scim.token.revoke`. A SCIM request authenticates by looking up the HMAC
(one indexed query) and then acts as `ScimClient(name)`; a revoked token's row is gone, so it
stops at once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Principal, ScimClient, log_admin_action
from bastion.store.database import Database, UniqueViolation
from bastion.store.protocols.scim import ScimStore, ScimTokenRow

TOKEN_PREFIX = "scim_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Recording every request's use would write on every read; once a minute is enough to tell an
# admin which IdP still calls.
_TOUCH_EVERY_MS = 60_000


class ScimTokens:
    """Issue, list, revoke and check SCIM bearer tokens."""

    def __init__(
        self,
        db: Database,
        store: ScimStore,
        audit: AuditTrail,
        clock: Clock,
        hash_token: Callable[[str], str],
    ) -> None:
        self._db, self._store, self._audit, self._clock = db, store, audit, clock
        self._hash = hash_token
        self._touched: dict[str, int] = {}

    async def create(self, actor: Principal, name: str) -> str:
        """Issue a token named `name`; returns the token (shown this once)."""
        actor.require_admin()
        async with self._audit.attempt(actor, "scim.token.create", name):
            if not _NAME.fullmatch(name):
                raise MatrixError(
                    400, Errcode.INVALID_PARAM, f"invalid SCIM token name {name!r}: use letters, "
                    "digits, '.', '_' or '-' (at most 64)",
                )  # fmt: skip
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            try:
                async with self._db.transaction() as txn:
                    await self._store.insert_token(txn, name, self._hash(token), self._now())
                    await self._audit.record(txn, actor, "scim.token.create", name)
            except UniqueViolation as exc:
                raise MatrixError(
                    400, Errcode.INVALID_PARAM, f"a SCIM token named {name!r} already exists"
                ) from exc
        log_admin_action(actor, f"issued SCIM token {name}")
        return token

    async def list(self, actor: Principal) -> list[ScimTokenRow]:
        """Every token, by name (never the token itself)."""
        actor.require_admin()
        return await self._store.list_tokens(self._db)

    async def revoke(self, actor: Principal, name: str) -> None:
        """Revoke the token named `name`; 404 M_NOT_FOUND if there is none."""
        actor.require_admin()
        async with (
            self._audit.attempt(actor, "scim.token.revoke", name),
            self._db.transaction() as txn,
        ):
            if not await self._store.delete_token(txn, name):
                raise MatrixError(404, Errcode.NOT_FOUND, f"no SCIM token named {name!r}")
            await self._audit.record(txn, actor, "scim.token.revoke", name)
        self._touched.pop(name, None)
        log_admin_action(actor, f"revoked SCIM token {name}")

    async def authenticate(self, token: str) -> ScimClient | None:
        """The client a bearer token belongs to, or None for an unknown or revoked one."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        name = await self._store.find_token(self._db, self._hash(token))
        if name is None:
            return None
        now = self._now()
        if now - self._touched.get(name, -_TOUCH_EVERY_MS) >= _TOUCH_EVERY_MS:
            self._touched[name] = now
            await self._store.touch_token(self._db, name, now)
        return ScimClient(name)

    def _now(self) -> int:
        return self._clock.now_ms()
