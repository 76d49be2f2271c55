"""Access tokens: issuing them, resolving them to a Requester (principal.py), revoking them.

Tokens are 256 random bits, shown to the client once; the database keeps only
HMAC-SHA256(token_hmac_key, token). Every request resolves its token with one indexed query that
also reads the account's deactivation flag, so deactivating an account stops its tokens at once,
in every process, with no cache to invalidate.
"""

from __future__ import annotations

import hmac
import secrets
import string
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.credentials import account_locked
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Requester
from bastion.services.ratelimit import AccountLimits
from bastion.store.database import Database, Queryable
from bastion.store.protocols import DeviceStore

TOKEN_PREFIX = "bst_"
_DEVICE_ID_ALPHABET = string.ascii_uppercase
_LAST_SEEN_RESOLUTION_MS = 60_000


@dataclass(frozen=True, slots=True)
class Session:
    """A freshly issued access token and the device it belongs to."""

    user_id: str
    device_id: str
    access_token: str


def new_device_id() -> str:
    """A random device ID in the style clients expect (10 capital letters)."""
    return "".join(secrets.choice(_DEVICE_ID_ALPHABET) for _ in range(10))


class AuthService:
    """Issues, resolves and revokes access tokens."""

    def __init__(
        self,
        db: Database,
        devices: DeviceStore,
        clock: Clock,
        token_hmac_key: str,
        request_limits: AccountLimits,
        *,
        device_lists: DeviceListService,
        audit: AuditTrail,
    ) -> None:
        self._db = db
        self._audit = audit
        self._device_lists = device_lists
        self._devices = devices
        self._clock = clock
        self._key = token_hmac_key.encode("utf-8")
        self._request_limits = request_limits  # with admins' overrides

    def hash_token(self, token: str) -> str:
        """What the database stores instead of the token."""
        return hmac.digest(self._key, token.encode("utf-8"), "sha256").hex()  # one C call

    async def authenticate(
        self, token: str, ip: str | None, *, allow_locked: bool = False
    ) -> Requester:
        """Resolve an access token; 401 M_UNKNOWN_TOKEN if it is not (or no longer) valid.

        A token of an account an admin locked is kept but answers 401 M_USER_LOCKED, except
        where `allow_locked` (the spec's two logouts: client-server-api#account-locking)."""
        token_hash = self.hash_token(token)
        owner = await self._devices.find_token_owner(self._db, token_hash)
        if owner is None or owner.is_deactivated:
            raise MatrixError(
                401, Errcode.UNKNOWN_TOKEN, "Unknown access token", {"soft_logout": False}
            )
        if owner.admin_locked and not allow_locked:
            raise account_locked()
        self._request_limits.hit(owner.user_id, owner.ratelimit)
        now = self._clock.now_ms()
        # Writing last-seen on every request would turn each read into a write; once a minute
        # is precise enough for the device list.
        if owner.last_seen_ts is None or now - owner.last_seen_ts > _LAST_SEEN_RESOLUTION_MS:
            await self._devices.touch_device(self._db, owner.user_id, owner.device_id, now, ip)
        return Requester(
            owner.user_id,
            owner.device_id,
            owner.is_admin,
            token_hash,
            shadow_banned=owner.shadow_banned,
        )

    async def issue_session(
        self, txn: Queryable, user_id: str, device_id: str | None, display_name: str | None
    ) -> Session:
        """Create (or reuse) a device and give it a new token; older tokens of it are revoked."""
        device_id = device_id or new_device_id()
        now = self._clock.now_ms()
        await self._devices.ensure_device(txn, user_id, device_id, display_name, now)
        await self._devices.delete_device_tokens(txn, user_id, device_id)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self._devices.insert_token(txn, self.hash_token(token), user_id, device_id, now)
        return Session(user_id, device_id, token)

    async def tokens_replaced(self, user_id: str) -> None:
        """After commit of an `issue_session` that may have revoked a device's earlier token:
        that token's parked syncs end with 401 on every process (the device and its keys stay)."""
        await self._device_lists.sessions_revoked(user_id)

    async def logout(self, requester: Requester) -> None:
        """Revoke this token by deleting its device (the spec's logout)."""
        async with self._db.transaction() as txn:
            await self._devices.delete_devices(txn, requester.user_id, [requester.device_id])
            details = {"devices": [requester.device_id]}
            await self._audit.record(txn, requester, "session.logout", requester.user_id, details)
        await self._device_lists.devices_removed(requester.user_id, [requester.device_id])

    async def logout_all(self, requester: Requester) -> None:
        """Revoke every token and device of the requester's account."""
        user_id = requester.user_id
        async with self._db.transaction() as txn:
            await self._devices.delete_all_devices(txn, user_id)
            await self._audit.record(txn, requester, "session.logout_all", user_id)
        await self._device_lists.devices_removed(user_id, None)
