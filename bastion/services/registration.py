"""Self-registration through `POST /register`, off unless the organisation turns it on.

Modes (config `registration.mode`): `disabled` refuses with 403 M_FORBIDDEN; `token` requires an
`m.login.registration_token` stage with a token made by an admin (uses and expiry enforced in
the same transaction that creates the account, so a token is never over-used); `open` offers the
`m.login.dummy` stage, for development and testing.

Registration tokens are admin power: creating, listing, reading, changing and revoking one takes
the acting `Principal` first (`require_admin()`); each change is audited in its own transaction
(a refused one as failed) and logged naming the actor (`log_admin_action`), never the token.
A token is valid while it has uses left and has not expired; a use is counted in the
transaction that creates the account, so there are never pending uses (Synapse's `pending`).
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_device_id
from bastion.services.accounts import AccountService
from bastion.services.auth import AuthService, Session
from bastion.services.principal import Principal, log_admin_action
from bastion.services.ratelimit import RateLimiter
from bastion.services.uia import UiaService
from bastion.store.database import Database, UniqueViolation
from bastion.store.protocols import RegistrationTokenStore
from bastion.store.records import RegistrationTokenRecord

TOKEN_STAGE = "m.login.registration_token"
DUMMY_STAGE = "m.login.dummy"
__all__ = [  # RegistrationTokenRecord: the admin API reads it from here
    "DUMMY_STAGE",
    "MAX_TOKEN_LENGTH",
    "TOKEN_STAGE",
    "RegisterRequest",
    "Registered",
    "RegistrationService",
    "RegistrationTokenRecord",
    "TokenChanges",
]
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOKEN_GRAMMAR = re.compile(r"[A-Za-z0-9._~\-]{1,64}")
MAX_TOKEN_LENGTH = 64


class RegisterRequest(msgspec.Struct, frozen=True):
    """Body of `POST /register` (spec: client-server-api#post_matrixclientv3register)."""

    username: str | None = None
    password: str | None = None
    type: str | None = None  # m.login.application_service: an application service registers
    device_id: str | None = None
    initial_device_display_name: str | None = None
    inhibit_login: bool = False
    auth: dict[str, Any] | None = None
    refresh_token: bool = False


class TokenChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A token's new limits (Synapse's PUT body): a field left out keeps its value; null
    means unlimited."""

    uses_allowed: int | msgspec.UnsetType | None = msgspec.UNSET
    expiry_time: int | msgspec.UnsetType | None = msgspec.UNSET


class Registered(msgspec.Struct, frozen=True):
    """A new account, and its first session unless login was inhibited."""

    user_id: str
    session: Session | None


class RegistrationService:
    """Self-registration and the registration tokens that gate it."""

    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        auth: AuthService,
        uia: UiaService,
        tokens: RegistrationTokenStore,
        clock: Clock,
        *,
        mode: str,
        ip_limiter: RateLimiter,
    ) -> None:
        self._db = db
        self._audit = accounts.audit
        self._accounts = accounts
        self._auth = auth
        self._uia = uia
        self._tokens = tokens
        self._clock = clock
        self._mode = mode
        self._ip_limiter = ip_limiter

    def _require_enabled(self) -> None:
        if self._mode == "disabled":
            raise MatrixError(
                403, Errcode.FORBIDDEN, "Registration is disabled; ask an administrator"
            )

    def _stage(self) -> str:
        return TOKEN_STAGE if self._mode == "token" else DUMMY_STAGE

    async def register(self, request: RegisterRequest, *, kind: str, ip: str) -> Registered:
        """Create an account once the mode's UIA stage is complete."""
        self._require_enabled()
        if kind != "user":
            raise MatrixError(403, Errcode.FORBIDDEN, "Guest access is disabled")
        self._ip_limiter.hit(ip)
        localpart = (request.username or secrets.token_hex(6)).lower()
        user_id = self._accounts.user_id_for(localpart)
        if not await self._accounts.is_available(localpart):
            raise MatrixError(400, Errcode.USER_IN_USE, f"{user_id} is already taken")
        if request.password is not None:
            self._accounts.check_password_policy(request.password)
        if request.device_id is not None and not is_valid_device_id(request.device_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
        token = await self._complete_stage(request.auth)
        password_hash = (
            await self._accounts.hash_new_password(request.password)
            if request.password is not None
            else None
        )
        try:
            async with self._db.transaction() as txn:
                if token is not None and not await self._tokens.consume_token(
                    txn, token, self._clock.now_ms()
                ):
                    raise _TokenUsedUpError
                await self._accounts.insert_account(txn, user_id, password_hash, is_admin=False)
                session = None
                if not request.inhibit_login:
                    session = await self._auth.issue_session(
                        txn, user_id, request.device_id, request.initial_device_display_name
                    )
        except _TokenUsedUpError:
            # Another registration took the last use between our check and this transaction.
            # The challenge opens its own transaction, so it must come after the rollback.
            raise await self._uia.challenge([TOKEN_STAGE], failure=_invalid_token()) from None
        await self._accounts.announce_created(user_id)
        return Registered(user_id, session)

    async def _complete_stage(self, auth: dict[str, Any] | None) -> str | None:
        """Check the UIA stage; returns the registration token to consume, if any."""
        stage = self._stage()
        if auth is None:
            raise await self._uia.challenge([stage])
        session = await self._uia.check_session(auth)
        if auth.get("type") != stage:
            raise await self._uia.challenge([stage], session=session)
        if stage == DUMMY_STAGE:
            return None
        token = auth.get("token")
        if not isinstance(token, str) or not await self.is_token_valid(token):
            raise await self._uia.challenge([stage], session=session, failure=_invalid_token())
        return token

    async def check_available(self, username: str) -> None:
        """`GET /register/available`: 400 M_USER_IN_USE when taken."""
        self._require_enabled()
        if not await self._accounts.is_available(username.lower()):
            raise MatrixError(400, Errcode.USER_IN_USE, f"{username} is already taken")

    async def is_token_valid(self, token: str) -> bool:
        """True if the token exists, has uses left and has not expired."""
        if self._mode != "token":
            raise MatrixError(403, Errcode.FORBIDDEN, "Registration tokens are not in use")
        record = await self._tokens.get_token(self._db, token)
        return record is not None and self.is_record_valid(record)

    async def create_token(
        self,
        actor: Principal,
        *,
        uses_allowed: int | None,
        expiry_ts: int | None,
        token: str | None = None,
        length: int = 20,
    ) -> str:
        """Make a registration token (CLI / admin); `length` of a generated one (1-64)."""
        actor.require_admin()
        if not 1 <= length <= MAX_TOKEN_LENGTH:
            raise MatrixError(400, Errcode.INVALID_PARAM, "length must be between 1 and 64")
        # Letters and digits only: a generated token must never start with "-", which the CLI
        # (and people copying it) would take for an option. 20 characters carry 119 bits.
        token = token or "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))
        if not _TOKEN_GRAMMAR.fullmatch(token):
            raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid registration token {token!r}")
        self._check_limits(uses_allowed, expiry_ts)
        async with self._audit.attempt(actor, "registration_token.create"):
            try:
                async with self._db.transaction() as tx:
                    await self._tokens.insert_token(
                        tx, token, uses_allowed, expiry_ts, self._clock.now_ms()
                    )
                    details = {"uses_allowed": uses_allowed, "expiry_ts": expiry_ts}
                    await self._audit.record(tx, actor, "registration_token.create", None, details)
            except UniqueViolation as exc:
                raise MatrixError(400, Errcode.INVALID_PARAM, f"token {token!r} exists") from exc
        # The token is a credential: logs never carry it.
        log_admin_action(actor, "created a registration token")
        return token

    def _check_limits(self, uses_allowed: int | None, expiry_ts: int | None) -> None:
        # 0 uses is allowed, as in Synapse: a token kept but disabled.
        if uses_allowed is not None and uses_allowed < 0:
            raise MatrixError(400, Errcode.INVALID_PARAM, "uses_allowed must not be negative")
        if expiry_ts is not None and expiry_ts < self._clock.now_ms():
            raise MatrixError(400, Errcode.INVALID_PARAM, "expiry_time must not be in the past")

    def is_record_valid(self, record: RegistrationTokenRecord) -> bool:
        """True while the token has uses left and has not expired."""
        uses_left = record.uses_allowed is None or record.completed < record.uses_allowed
        unexpired = record.expiry_ts is None or record.expiry_ts > self._clock.now_ms()
        return uses_left and unexpired

    async def list_tokens(
        self, actor: Principal, *, valid: bool | None = None
    ) -> list[RegistrationTokenRecord]:
        """Every registration token (admins only); only the valid or invalid ones if asked."""
        actor.require_admin()
        records = await self._tokens.list_tokens(self._db)
        if valid is None:
            return records
        return [r for r in records if self.is_record_valid(r) == valid]

    async def get_token(self, actor: Principal, token: str) -> RegistrationTokenRecord:
        """One registration token; 404 if it does not exist."""
        actor.require_admin()
        record = await self._tokens.get_token(self._db, token)
        if record is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no registration token {token!r}")
        return record

    async def update_token(
        self, actor: Principal, token: str, changes: TokenChanges
    ) -> RegistrationTokenRecord:
        """Change a token's uses and expiry (left-out fields keep theirs); 404 if unknown."""
        actor.require_admin()
        action = "registration_token.update"
        async with self._audit.attempt(actor, action), self._db.transaction() as tx:
            record = await self._tokens.get_token(tx, token)
            if record is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"no registration token {token!r}")
            uses, expiry = record.uses_allowed, record.expiry_ts
            if changes.uses_allowed is not msgspec.UNSET:
                uses = changes.uses_allowed
                self._check_limits(uses, None)
            if changes.expiry_time is not msgspec.UNSET:
                expiry = changes.expiry_time
                self._check_limits(None, expiry)
            await self._tokens.update_token(tx, token, uses, expiry)
            details = {"uses_allowed": uses, "expiry_ts": expiry}
            await self._audit.record(tx, actor, action, None, details)
        log_admin_action(actor, "changed a registration token")
        return msgspec.structs.replace(record, uses_allowed=uses, expiry_ts=expiry)

    async def delete_token(self, actor: Principal, token: str) -> None:
        """Revoke a registration token; 404 if it does not exist."""
        actor.require_admin()
        action = "registration_token.delete"
        async with self._audit.attempt(actor, action), self._db.transaction() as tx:
            if not await self._tokens.delete_token(tx, token):
                raise MatrixError(404, Errcode.NOT_FOUND, f"no registration token {token!r}")
            await self._audit.record(tx, actor, "registration_token.delete")
        log_admin_action(actor, "revoked a registration token")


class _TokenUsedUpError(Exception):
    """The token was valid when checked but used up when consumed."""


def _invalid_token() -> MatrixError:
    return MatrixError(401, Errcode.FORBIDDEN, "Invalid or used-up registration token")
