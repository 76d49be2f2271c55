"""The one place a password is checked: login and User-Interactive Auth both come here.

Order matters for security: the lockout and the per-account failure limit are checked *before*
the (expensive) hash verification, so an attacker cannot burn CPU or keep guessing once throttled;
deactivation is reported only after a correct password, so it does not leak which accounts exist.
"""

from __future__ import annotations

from bastion.clock import Clock
from bastion.config import AuthConfig
from bastion.errors import Errcode, MatrixError
from bastion.services.passwords import Passwords
from bastion.services.ratelimit import RateLimiter, rate_limited
from bastion.store.database import Database
from bastion.store.protocols import UserStore
from bastion.store.records import UserRecord


class CredentialChecker:
    """Verifies passwords with lockout and throttling of repeated failures."""

    def __init__(
        self,
        db: Database,
        users: UserStore,
        passwords: Passwords,
        clock: Clock,
        config: AuthConfig,
        failure_limiter: RateLimiter,
    ) -> None:
        self._db = db
        self._users = users
        self._passwords = passwords
        self._clock = clock
        self._config = config
        self._failures = failure_limiter

    async def check_password(self, user_id: str, password: str) -> UserRecord:
        """Return the account if `password` is right for `user_id`.

        Raises:
            MatrixError: 429 M_LIMIT_EXCEEDED while locked out or throttled, 403 M_FORBIDDEN for
                a wrong password or unknown user, 403 M_USER_DEACTIVATED for a deactivated one.
        """
        user = await self._users.get_user(self._db, user_id)
        now = self._clock.now_ms()
        if user is not None and user.locked_until_ts > now:
            raise rate_limited((user.locked_until_ts - now) / 1000)
        self._failures.check(user_id)
        hash_ = user.password_hash if user is not None else None
        if user is None or not await self._passwords.verify_or_waste(hash_, password):
            await self._record_failure(user, now)
            raise MatrixError(403, Errcode.FORBIDDEN, "Invalid username or password")
        await self._after_success(user, password)
        if user.is_deactivated:
            raise MatrixError(403, Errcode.USER_DEACTIVATED, "This account has been deactivated")
        return user

    async def _record_failure(self, user: UserRecord | None, now: int) -> None:
        self._failures.consume(user.user_id if user is not None else "")
        if user is None:
            return
        async with self._db.transaction() as txn:
            await self._users.record_failed_login(
                txn,
                user.user_id,
                lock_after=self._config.lockout_after_failures,
                locked_until_ts=now + self._config.lockout_seconds * 1000,
            )

    async def _after_success(self, user: UserRecord, password: str) -> None:
        if user.failed_logins:
            await self._users.clear_failed_logins(self._db, user.user_id)
        if user.password_hash is not None and self._passwords.needs_rehash(user.password_hash):
            new_hash = await self._passwords.hash(password)
            await self._users.update_password_hash(self._db, user.user_id, new_hash)


def resolve_user_id(
    identifier: dict[str, object] | None, legacy_user: object, server_name: str
) -> str:
    """The user ID a login or UIA body names, from `identifier` (m.id.user) or legacy `user`.

    Localparts are matched case-insensitively, as every account we create is lower case.
    A user ID on another server cannot log in here and is refused like a wrong password.
    """
    if identifier is not None:
        if identifier.get("type") != "m.id.user":
            raise MatrixError(
                400, Errcode.UNKNOWN, f"unsupported identifier type {identifier.get('type')!r}"
            )
        raw = identifier.get("user")
    else:
        raw = legacy_user
    if not isinstance(raw, str) or not raw:
        raise MatrixError(400, Errcode.BAD_JSON, "identifier.user must be a non-empty string")
    if raw.startswith("@"):
        localpart, _, server = raw[1:].partition(":")
        if server != server_name:
            raise MatrixError(403, Errcode.FORBIDDEN, "Invalid username or password")
        raw = localpart
    return f"@{raw.lower()}:{server_name}"
