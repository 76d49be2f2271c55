"""Admin console sessions: sign-in with an admin's password or their identity provider, the
session a cookie names, sign-out.

What stays true:
- The password goes through THE check (`CredentialChecker`: lockout, per-account throttling) and
  the same per-address limiter as `POST /login`; every attempt is audited (`console.login` with
  outcome success or failure, `console.logout`).
- Single sign-on ends as a client's does: the SSO flow (services/sso/) hands the browser a login
  token, taken here once, exactly as `POST /login` takes `m.login.token` (same limiter, same
  account check); the provider's own checks (MFA, conditional access) so guard the console.
  A token a signed-in device asked for (`POST /login/get_token`) passed no provider: refused.
- Only a server admin gets a session. The session is re-read with its account on every request
  (one indexed query), so an admin who is demoted, locked or deactivated, or whose console device
  is revoked, is signed out at their next click.
- Each session has its own device, created at sign-in (display name "Bastion admin console"), so
  console actions are done and audited as `Requester(user_id, device_id, is_admin=True)` like any
  other admin client; sign-out and the idle timeout delete the device with the session.
- The cookie's value is shown to the browser only; the table keeps its HMAC (like access tokens).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import FAILURE, AuditTrail
from bastion.services.auth import new_device_id
from bastion.services.credentials import CredentialChecker
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Requester, Unauthenticated
from bastion.services.ratelimit import RateLimiter
from bastion.services.sso.login_tokens import InvalidLoginToken, LoginTokens, is_single_sign_on
from bastion.store.database import Database
from bastion.store.protocols.accounts import DeviceStore
from bastion.store.protocols.console import ConsoleSessionRow, ConsoleSessionStore
from bastion.store.protocols.sso import LoginTokenOwner

CONSOLE_DEVICE_NAME = "Bastion admin console"
# Writing last-seen on every click would turn each page view into a write; a minute is precise
# enough for a 30-minute idle timeout.
_TOUCH_RESOLUTION_MS = 60_000


class PasswordSignInOff(MatrixError):
    """`[console] password_sign_in = false`: admins sign in through an identity provider only."""

    def __init__(self) -> None:
        message = "Password sign-in to the console is turned off ([console] password_sign_in)"
        super().__init__(403, Errcode.FORBIDDEN, message)


class NotAnAdmin(MatrixError):
    """The password was right but the account is not a server admin: no console for it."""

    def __init__(self) -> None:
        super().__init__(403, Errcode.FORBIDDEN, "You are not a server admin")


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in admin's console session, as a page sees it."""

    session_hash: str
    user_id: str
    device_id: str
    csrf_token: str
    language: str

    @property
    def requester(self) -> Requester:
        """Who console actions are done as: the admin's console device."""
        return Requester(self.user_id, self.device_id, is_admin=True)


@dataclass(frozen=True, slots=True)
class ConsoleStores:
    """What the sessions service reads and writes."""

    sessions: ConsoleSessionStore
    devices: DeviceStore


@dataclass(frozen=True, slots=True)
class SignInChecks:
    """What a sign-in goes through: THE password check, /login's per-address limiter, and the
    keyed hash that stores a cookie (`AuthService.hash_token`)."""

    credentials: CredentialChecker
    ip_limiter: RateLimiter
    hash_secret: Callable[[str], str]
    login_tokens: LoginTokens | None = None  # None: no SSO configured
    password_sign_in: bool = True  # false: identity providers only ([console])


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """A sign-in form, with where it came from."""

    user: str  # a full user ID or a localpart
    password: str
    ip: str
    language: str


class ConsoleSessions:
    """Signs admins in and out of the console and resolves the session of a cookie."""

    def __init__(
        self,
        db: Database,
        stores: ConsoleStores,
        checks: SignInChecks,
        *,
        device_lists: DeviceListService,
        audit: AuditTrail,
        clock: Clock,
        server_name: str,
        idle_timeout_ms: int,
    ) -> None:
        self._db = db
        self._stores = stores
        self._credentials = checks.credentials
        self._ip_limiter = checks.ip_limiter
        self._hash = checks.hash_secret
        self._login_tokens = checks.login_tokens
        self._device_lists = device_lists
        self._audit = audit
        self._clock = clock
        self._server_name = server_name
        self.idle_timeout_ms = idle_timeout_ms
        self.password_sign_in = checks.password_sign_in

    def user_id_of(self, user: str) -> str:
        """`@alice:server` from `alice` or `@alice:server` (what the sign-in form accepts)."""
        user = user.strip()
        return user if user.startswith("@") else f"@{user.lower()}:{self._server_name}"

    async def sign_in(self, attempt: SignInAttempt) -> tuple[str, ConsoleSession]:
        """Check the password and open a session; returns the cookie value and the session.

        Raises:
            MatrixError: what `CredentialChecker.check_password` raises (429 while throttled or
                locked out, 403 for a wrong password), 403 when password sign-in is turned off
                (before any password check), or NotAnAdmin (403 M_FORBIDDEN).
        """
        self._ip_limiter.hit(attempt.ip)
        user_id = self.user_id_of(attempt.user)
        try:
            if not self.password_sign_in:
                raise PasswordSignInOff
            user = await self._credentials.check_password(user_id, attempt.password)
            if not user.is_admin:
                raise NotAnAdmin
        except MatrixError as exc:
            await self._refused(attempt.ip, user_id, exc)
            raise
        return await self._open(user.user_id, attempt.language, {"ip": attempt.ip})

    async def sign_in_with_login_token(
        self, token: str, ip: str, language: str
    ) -> tuple[str, ConsoleSession]:
        """Take an SSO login token (single use) and open a session for its admin.

        Raises:
            MatrixError: 429 while the address is throttled, 403 for an unknown, used or
                expired token or an account that cannot sign in, NotAnAdmin.
        """
        self._ip_limiter.hit(ip)
        owner: LoginTokenOwner | None = None
        try:
            if self._login_tokens is None:  # no SSO (nor get_token): no token exists
                raise InvalidLoginToken
            owner = await self._login_tokens.redeem(token)
            if not is_single_sign_on(owner):  # a signed-in device asked for it: no provider did
                raise InvalidLoginToken
            user = await self._credentials.check_account(owner.user_id)
            if not user.is_admin:
                raise NotAnAdmin
        except MatrixError as exc:
            await self._refused(ip, None if owner is None else owner.user_id, exc)
            raise
        return await self._open(user.user_id, language, {"ip": ip, "method": f"sso:{owner.idp_id}"})

    async def _refused(self, ip: str, user_id: str | None, exc: MatrixError) -> None:
        reason = {"ip": ip, "errcode": exc.errcode, "error": exc.message}
        await self._audit.record_alone(
            Unauthenticated(ip), "console.login", user_id, reason, outcome=FAILURE
        )

    async def _open(
        self, user_id: str, language: str, details: dict[str, str]
    ) -> tuple[str, ConsoleSession]:
        cookie = secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        row = ConsoleSessionRow(
            session_hash=self._hash(cookie),
            user_id=user_id,
            device_id=new_device_id(),
            csrf_token=secrets.token_urlsafe(32),
            language=language,
            created_ts=now,
            last_seen_ts=now,
        )
        async with self._db.transaction() as txn:
            await self._stores.devices.ensure_device(
                txn, row.user_id, row.device_id, CONSOLE_DEVICE_NAME, now
            )
            await self._stores.sessions.insert(txn, row)
            session = _session(row)
            await self._audit.record(txn, session.requester, "console.login", row.user_id, details)
        return cookie, session

    async def resolve(self, cookie: str) -> ConsoleSession | None:
        """The live session a cookie names, or None (and the session ended) if it is not one:
        unknown, idle too long, its account no longer an admin or usable, its device gone."""
        session_hash = self._hash(cookie)
        live = await self._stores.sessions.find(self._db, session_hash)
        if live is None:
            return None
        now = self._clock.now_ms()
        row = live.row
        idle = now - row.last_seen_ts > self.idle_timeout_ms
        if idle or not live.is_admin or not live.is_usable:
            reason = "idle" if idle else "no longer an admin" if not live.is_admin else "revoked"
            await self._end(_session(row), reason)
            return None
        if now - row.last_seen_ts >= _TOUCH_RESOLUTION_MS:
            await self._stores.sessions.touch(self._db, session_hash, now)
        return _session(row)

    async def sign_out(self, session: ConsoleSession) -> None:
        """End the session and delete its device (audited as `console.logout`)."""
        await self._end(session, "signed out")

    async def set_language(self, session: ConsoleSession, language: str) -> None:
        """Remember the language the admin chose for this session."""
        await self._stores.sessions.set_language(self._db, session.session_hash, language)

    async def _end(self, session: ConsoleSession, reason: str) -> None:
        async with self._db.transaction() as txn:
            await self._stores.sessions.delete(txn, session.session_hash)
            await self._stores.devices.delete_devices(txn, session.user_id, [session.device_id])
            await self._audit.record(
                txn, session.requester, "console.logout", session.user_id, {"reason": reason}
            )
        await self._device_lists.devices_removed(session.user_id, [session.device_id])


def _session(row: ConsoleSessionRow) -> ConsoleSession:
    return ConsoleSession(
        row.session_hash, row.user_id, row.device_id, row.csrf_token, row.language
    )
