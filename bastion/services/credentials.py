"""The one place a password is checked: login and User-Interactive Auth both come here.

Order matters for security: the lockout and the per-account failure limit are checked *before*
the (expensive) hash verification, so an attacker cannot burn CPU or keep guessing once throttled;
deactivation and an admin's lock are reported only after a correct password, so they do not leak
which accounts exist. The lockout says when it ends (`locked_out`); an admin's lock is the spec's
401 M_USER_LOCKED (`account_locked`), which the token check (auth.py) also answers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bastion.clock import Clock
from bastion.config import AuthConfig
from bastion.errors import Errcode, MatrixError
from bastion.services.passwords import Passwords
from bastion.services.ratelimit import RateLimiter
from bastion.store.database import Database
from bastion.store.protocols import UserStore
from bastion.store.records import UserRecord


def locked_out(locked_until_ts: int, now_ms: int) -> MatrixError:
    """The refusal during the lockout after wrong passwords: 429 M_LIMIT_EXCEEDED.

    Clients already show a 429 as "try again in N" from `retry_after_ms`; the message names the
    end of the lockout for those that show the text (M_USER_LOCKED would tell a client to wait
    for an admin, which is wrong for a lockout that ends by itself)."""
    until = datetime.fromtimestamp(locked_until_ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    return MatrixError(
        429,
        Errcode.LIMIT_EXCEEDED,
        f"Too many wrong passwords: this account is locked until {until} UTC",
        {"retry_after_ms": max(1, locked_until_ts - now_ms)},
    )


def account_locked() -> MatrixError:
    """An admin's lock (spec: client-server-api#account-locking): 401 M_USER_LOCKED."""
    return MatrixError(
        401,
        Errcode.USER_LOCKED,
        "This account has been locked by an administrator",
        {"soft_logout": True},
    )


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
                a wrong password or unknown user, 403 M_USER_DEACTIVATED for a deactivated one,
                401 M_USER_LOCKED for one an admin locked.
        """
        user = await self._users.get_user(self._db, user_id)
        now = self._clock.now_ms()
        if user is not None and user.locked_until_ts > now:
            raise locked_out(user.locked_until_ts, now)
        self._failures.check(user_id)
        hash_ = user.password_hash if user is not None else None
        if user is None or not await self._passwords.verify_or_waste(hash_, password):
            await self._record_failure(user, now)
            raise MatrixError(403, Errcode.FORBIDDEN, "Invalid username or password")
        await self._after_success(user, password)
        refuse_unusable(user)
        return user

    async def check_account(self, user_id: str) -> UserRecord:
        """The account a login token names (sso/login_tokens.py), refused as `check_password`
        refuses it after a right password: it may have been deactivated or locked since."""
        user = await self._users.get_user(self._db, user_id)
        if user is None:
            raise MatrixError(403, Errcode.FORBIDDEN, "Invalid login token")
        refuse_unusable(user)
        return user

    def forgive(self, user_id: str) -> None:
        """After an admin unlocks `user_id`: forget its recent wrong passwords here too."""
        self._failures.forget(user_id)

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


def refuse_unusable(user: UserRecord) -> None:
    """The refusal every use of an account gets once it is closed: a login, an application
    service acting as it, a parked long-poll. 403 M_USER_DEACTIVATED for a deactivated account,
    401 M_USER_LOCKED for one an admin locked; nothing for a usable one."""
    if user.is_deactivated:
        raise MatrixError(403, Errcode.USER_DEACTIVATED, f"{user.user_id} has been deactivated")
    if user.admin_locked:
        raise account_locked()


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
