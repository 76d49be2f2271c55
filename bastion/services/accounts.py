"""Accounts: creating, listing, re-keying and deactivating them.

Deactivation revokes every device and token in the same transaction that sets the flag, and the
token lookup also checks the flag (see auth.py), so a leaver's sessions stop on the next request.
The same transactions add a new account to the user directory and take a deactivated one out.

Admin actions (creating an account, listing accounts, deactivating one, resetting a password)
take the acting `Principal` first and check it with `principal.py`; each one that commits is
logged after commit naming its actor (`log_admin_action`) and audited in its own transaction
(services/audit/); a refused or failed one is audited as failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.ids import validate_new_localpart
from bastion.services.audit.trail import AuditTrail
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.passwords import Passwords
from bastion.services.principal import (
    Principal,
    Requester,
    log_admin_action,
    require_self_or_admin,
)
from bastion.store.database import Database, Queryable, UniqueViolation
from bastion.store.protocols import DeviceStore, ProfileStore, UserStore
from bastion.store.records import UserRecord

MAX_PASSWORD_LENGTH = 1024  # argon2 copes, but nobody types more and it bounds the work


class ReservedUserIds(Protocol):
    """User IDs reserved by application services (services/appservices/registry.py)."""

    def check_user_creation(self, user_id: str, creator: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class AccountStores:
    """The stores an account spans, and the user directory index written with them."""

    users: UserStore
    devices: DeviceStore
    profiles: ProfileStore
    directory: UserDirectoryIndex
    reserved: ReservedUserIds | None = None  # user IDs reserved by application services


class AccountCreatedListener(Protocol):
    """Told of each new account after its creation commits (the acceptable-use notice)."""

    async def account_created(self, user_id: str) -> None: ...


class AccountService:
    """Account lifecycle for the CLI, the admin API and the client API."""

    def __init__(
        self,
        db: Database,
        stores: AccountStores,
        passwords: Passwords,
        clock: Clock,
        *,
        server_name: str,
        password_min_length: int,
        device_lists: DeviceListService,
        audit: AuditTrail,
    ) -> None:
        self._db = db
        self._audit = audit
        self._appservices = stores.reserved
        self._device_lists = device_lists
        self._users = stores.users
        self._devices = stores.devices
        self._profiles = stores.profiles
        self._directory = stores.directory
        self._passwords = passwords
        self._clock = clock
        self._server_name = server_name
        self._password_min_length = password_min_length
        self._created_listeners: list[AccountCreatedListener] = []

    def on_created(self, listener: AccountCreatedListener) -> None:
        """Tell `listener` of every account created from now on (wired once, at start)."""
        self._created_listeners.append(listener)

    async def announce_created(self, user_id: str) -> None:
        """After an account's creation has committed: tell the listeners (which never raise)."""
        for listener in self._created_listeners:
            await listener.account_created(user_id)

    @property
    def audit(self) -> AuditTrail:
        """The audit trail account actions are recorded in (registration tokens use it too)."""
        return self._audit

    def user_id_for(self, localpart: str, *, for_appservice: bool = False) -> str:
        """Validate a new localpart and return the full user ID."""
        validate_new_localpart(localpart, self._server_name, for_appservice=for_appservice)
        return f"@{localpart}:{self._server_name}"

    def check_password_policy(self, password: str) -> None:
        """400 M_WEAK_PASSWORD for a password the organisation does not accept."""
        if len(password) < self._password_min_length:
            raise MatrixError(
                400,
                Errcode.WEAK_PASSWORD,
                f"password must be at least {self._password_min_length} characters",
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise MatrixError(400, Errcode.WEAK_PASSWORD, "password is too long")

    async def hash_new_password(self, password: str) -> str:
        """Check the policy, then hash."""
        self.check_password_policy(password)
        return await self._passwords.hash(password)

    async def insert_account(
        self,
        txn: Queryable,
        user_id: str,
        password_hash: str | None,
        *,
        is_admin: bool,
        creator: str | None = None,
        displayname: str | None = None,
    ) -> None:
        """Insert the account and its default profile (display name: `displayname`, else the
        localpart); 400 M_USER_IN_USE if taken, and 400 M_EXCLUSIVE in an application service's
        exclusive namespace (unless `creator`, the ID of the service creating it, is that
        service: appservices/registry.py)."""
        if self._appservices is not None:
            self._appservices.check_user_creation(user_id, creator)
        try:
            await self._users.insert_user(
                txn, user_id, password_hash, is_admin=is_admin, now_ms=self._clock.now_ms()
            )
        except UniqueViolation as exc:
            raise MatrixError(400, Errcode.USER_IN_USE, f"{user_id} is already taken") from exc
        name = displayname or user_id[1:].split(":", 1)[0]
        await self._profiles.set_displayname(txn, user_id, name)
        await self._directory.index(txn, user_id, name)

    async def create_user(
        self, actor: Principal, localpart: str, password: str | None, *, is_admin: bool
    ) -> str:
        """Create an account (CLI and admin API); returns its user ID."""
        actor.require_admin()
        async with self._audit.attempt(actor, "user.create", f"@{localpart}:{self._server_name}"):
            user_id = self.user_id_for(localpart)
            password_hash = await self.hash_new_password(password) if password is not None else None
            async with self._db.transaction() as txn:
                await self.insert_account(txn, user_id, password_hash, is_admin=is_admin)
                await self._audit.record(txn, actor, "user.create", user_id, {"admin": is_admin})
        kind = "admin account" if is_admin else "account"
        log_admin_action(actor, f"created {kind} {user_id}")
        await self.announce_created(user_id)
        return user_id

    async def is_available(self, localpart: str) -> bool:
        """True if `localpart` is valid and nobody has it."""
        user_id = self.user_id_for(localpart)
        return await self._users.get_user(self._db, user_id) is None

    async def get_user(self, user_id: str) -> UserRecord:
        """The account, or 404 M_NOT_FOUND."""
        user = await self._users.get_user(self._db, user_id)
        if user is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no such user {user_id}")
        return user

    async def list_users(self, actor: Principal) -> list[UserRecord]:
        """Every account, deactivated ones included (admins only)."""
        actor.require_admin()
        return await self._users.list_users(self._db)

    async def has_active_admin(self) -> bool:
        """True once someone can administer the server."""
        return await self._users.has_active_admin(self._db)

    async def deactivate(self, actor: Principal, user_id: str) -> None:
        """Deactivate an account and revoke every session of it, in one transaction: only the
        sessions step; every entry point runs the whole offboarding workflow instead
        (services/offboarding/, which calls `close_account`).

        The account's own user (after UIA, checked by the caller) or an admin may.
        """
        require_self_or_admin(actor, user_id)
        async with self._audit.attempt(actor, "user.deactivate", user_id):
            await self.get_user(user_id)
            async with self._db.transaction() as txn:
                await self.close_account(txn, user_id)
                await self._audit.record(txn, actor, "user.deactivate", user_id)
        log_admin_action(actor, f"deactivated {user_id}")
        await self.account_closed(user_id)

    async def close_account(self, txn: Queryable, user_id: str) -> int:
        """In `txn`: flag the account deactivated, delete every device (their tokens and
        pushers go with them) and take it out of the user directory; returns how many devices
        there were. The caller runs `account_closed` after commit."""
        devices = await self._devices.list_devices(txn, user_id)
        await self._users.set_deactivated(txn, user_id)
        await self._devices.delete_all_devices(txn, user_id)
        await self._directory.remove(txn, user_id)
        return len(devices)

    async def account_closed(self, user_id: str) -> None:
        """After `close_account` committed: tell those who track the user's devices."""
        await self._device_lists.devices_removed(user_id, None)

    async def set_password(
        self, actor: Principal, user_id: str, new_password: str, *, keep_device_id: str | None
    ) -> None:
        """Reset a password (admins only) and revoke every device except `keep_device_id`."""
        actor.require_admin()
        async with self._audit.attempt(actor, "user.reset_password", user_id):
            await self.get_user(user_id)
            password_hash = await self.hash_new_password(new_password)
            async with self._db.transaction() as txn:
                await self._users.update_password_hash(txn, user_id, password_hash)
                await self._devices.delete_all_devices(txn, user_id, keep_device_id=keep_device_id)
                details = {"kept_device": keep_device_id}
                await self._audit.record(txn, actor, "user.reset_password", user_id, details)
        log_admin_action(actor, f"reset the password of {user_id}")
        await self._device_lists.devices_removed(user_id, None, keep_device_id=keep_device_id)

    async def change_own_password(
        self, requester: Requester, new_password: str, *, logout_devices: bool
    ) -> None:
        """`POST /account/password` after UIA: other devices are logged out unless asked not to."""
        password_hash = await self.hash_new_password(new_password)
        async with self._db.transaction() as txn:
            await self._users.update_password_hash(txn, requester.user_id, password_hash)
            if logout_devices:
                await self._devices.delete_all_devices(
                    txn, requester.user_id, keep_device_id=requester.device_id
                )
        if logout_devices:
            await self._device_lists.devices_removed(
                requester.user_id, None, keep_device_id=requester.device_id
            )
