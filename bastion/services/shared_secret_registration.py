"""Shared-secret registration (Synapse's `GET`/`POST /_synapse/admin/v1/register`): how
provisioning tools (Synapse's `register_new_matrix_user`, deployment playbooks, bridges' set-up
scripts) create accounts without an admin token, by proving they hold the configured secret.

Why it is safe to offer: it is off unless `registration.shared_secret` is set (at least 32
characters: config.py); every request costs a one-time nonce that lives 60 seconds and is used
up by the first request naming it, even one whose MAC is wrong, so a secret cannot be guessed
against one nonce; both calls are rate-limited per address as registration is; the MAC is
compared in constant time. The MAC is Synapse's: HMAC-SHA1 with the secret as key over
`nonce NUL username NUL password NUL ("admin" | "notadmin")`, hex.

What Bastion adds: the password policy applies (as for every account), user types are refused
(Bastion has none), and each creation, or refusal once the nonce was used, is audited
`user.create` with the operator `registration_shared_secret` as actor. The account, its
profile, its first device and token and the audit record commit together.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.accounts import AccountService
from bastion.services.auth import AuthService, Session
from bastion.services.principal import Operator, log_admin_action
from bastion.services.ratelimit import RateLimiter
from bastion.store.database import Database
from bastion.store.protocols import RegistrationNonceStore

NONCE_LIFETIME_MS = 60_000  # Synapse's NONCE_TIMEOUT
MAX_FIELD_LENGTH = 512  # Synapse's limit on the username and the password
ACTOR = Operator("registration_shared_secret")


class SharedSecretRequest(msgspec.Struct, frozen=True):
    """The POST body; missing required fields are named in the error (Synapse's M_BAD_JSON)."""

    nonce: str | None = None
    username: str | None = None
    password: str | None = None
    mac: str | None = None
    admin: bool = False
    displayname: str | None = None
    user_type: str | None = None


@dataclass(frozen=True, slots=True)
class SharedSecretParts:
    """What the registration uses, built by the composition root."""

    db: Database
    nonces: RegistrationNonceStore
    accounts: AccountService
    auth: AuthService
    clock: Clock
    ip_limiter: RateLimiter  # shared with self-registration: registrations per address


class SharedSecretRegistration:
    """Issues nonces and creates accounts for holders of the shared secret."""

    def __init__(self, parts: SharedSecretParts, secret: str) -> None:
        self._parts = parts
        self._secret = secret.encode()

    async def new_nonce(self, ip: str) -> str:
        """A fresh one-time nonce (expired ones are swept meanwhile)."""
        self._require_enabled()
        parts = self._parts
        parts.ip_limiter.hit(ip)
        nonce = secrets.token_hex(32)
        now = parts.clock.now_ms()
        async with parts.db.transaction() as t:
            await parts.nonces.delete_nonces_before(t, now - NONCE_LIFETIME_MS)
            await parts.nonces.insert_nonce(t, nonce, now)
        return nonce

    async def register(self, request: SharedSecretRequest, ip: str) -> Session:
        """Create the account (and its first session) the request's MAC vouches for."""
        self._require_enabled()
        parts = self._parts
        parts.ip_limiter.hit(ip)
        if request.nonce is None:
            raise MatrixError(400, Errcode.BAD_JSON, "nonce must be specified")
        async with parts.db.transaction() as t:  # used up now, whatever follows
            fresh = await parts.nonces.take_nonce(
                t, request.nonce, parts.clock.now_ms() - NONCE_LIFETIME_MS
            )
        if not fresh:
            raise MatrixError(400, Errcode.UNKNOWN, "unrecognised nonce")
        username, password = (
            _field(request.username, "username"),
            _field(request.password, "password"),
        )
        if request.mac is None:
            raise MatrixError(400, Errcode.BAD_JSON, "mac must be specified")
        if request.user_type is not None:
            raise MatrixError(400, Errcode.INVALID_PARAM, "Invalid user type: Bastion has none")
        user_id = parts.accounts.user_id_for(username)  # 400 for an impossible localpart
        audit = parts.accounts.audit
        async with audit.attempt(ACTOR, "user.create", user_id):
            if not self._mac_matches(request, username, password):
                raise MatrixError(403, Errcode.FORBIDDEN, "HMAC incorrect")
            password_hash = await parts.accounts.hash_new_password(password)  # policy, then hash
            async with parts.db.transaction() as t:
                await parts.accounts.insert_account(
                    t, user_id, password_hash, is_admin=request.admin,
                    displayname=request.displayname or None,
                )  # fmt: skip
                session = await parts.auth.issue_session(t, user_id, None, None)
                details = {"admin": request.admin, "via": "shared secret"}
                await audit.record(t, ACTOR, "user.create", user_id, details)
        log_admin_action(ACTOR, f"created {'admin ' if request.admin else ''}account {user_id}")
        await parts.accounts.announce_created(user_id)
        return session

    def _require_enabled(self) -> None:
        if not self._secret:
            raise MatrixError(400, Errcode.UNKNOWN, "Shared secret registration is not enabled")

    def _mac_matches(self, request: SharedSecretRequest, username: str, password: str) -> bool:
        expected = hmac.new(self._secret, digestmod=hashlib.sha1)
        for part in (request.nonce or "", username, password):
            expected.update(part.encode())
            expected.update(b"\x00")
        expected.update(b"admin" if request.admin else b"notadmin")
        given = (request.mac or "").encode("utf-8", "replace")
        return hmac.compare_digest(expected.hexdigest().encode(), given)


def _field(value: str | None, name: str) -> str:
    """A required username or password: present, at most 512 characters, no NUL."""
    if value is None:
        raise MatrixError(400, Errcode.BAD_JSON, f"{name} must be specified")
    if len(value) > MAX_FIELD_LENGTH or "\x00" in value:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"Invalid {name}")
    return value
