"""Accounts as an admin sees and changes them: list, details, create-or-modify, lock, manager.

"Locked" is one notion for every reader: locked by an admin (`admin_locked`, Synapse's
`locked`) or locked out after repeated wrong passwords until a time still to come
(`locked_until_ts`, credentials.py). Unlocking ends both and resets the wrong-password count,
without touching the password.

`put_user` applies every change but deactivation in one transaction with its audit records
(`user.create`, or `user.update` naming the changed fields, never the password, plus
`user.lock`/`user.unlock`/`user.reset_password`); deactivation is the offboarding workflow's,
which the caller runs afterwards (`PutOutcome.deactivate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.accounts import AccountService
from bastion.services.audit.trail import AuditTrail
from bastion.services.credentials import CredentialChecker
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Principal, Requester, log_admin_action
from bastion.services.profile import ProfileService
from bastion.store.database import Database, Queryable, UniqueViolation
from bastion.store.protocols import DeviceStore, ProfileStore, UserStore
from bastion.store.protocols.admin_users import (
    USER_ORDERS,
    UserAdminStore,
    UserListQuery,
    UserListRow,
)
from bastion.store.protocols.sso import ExternalIdStore
from bastion.store.records import ProfileRecord, UserRecord

MAX_RATELIMIT = 2**31 - 1  # a rate or burst override's column is a 32-bit INTEGER on PostgreSQL

__all__ = ["AdminUserService", "UserChanges", "UserDetails", "UserListQuery", "UserListRow"]


@dataclass(frozen=True, slots=True)
class AdminUserStores:
    """The stores an admin's account changes span."""

    users: UserStore
    admin: UserAdminStore
    devices: DeviceStore
    profiles: ProfileStore
    directory: UserDirectoryIndex
    external_ids: ExternalIdStore


class ExternalId(msgspec.Struct, frozen=True):
    """A link to an identity provider's subject, in Synapse's admin API shape."""

    auth_provider: str  # the provider's `id` in [sso]
    external_id: str  # its subject (`sub`)


class UserChanges(msgspec.Struct, frozen=True):
    """What `PUT /_synapse/admin/v2/users/{userId}` may set; UNSET fields stay as they are."""

    password: str | msgspec.UnsetType | None = msgspec.UNSET  # null: unchanged, as in Synapse
    logout_devices: bool = True
    displayname: str | msgspec.UnsetType | None = msgspec.UNSET
    avatar_url: str | msgspec.UnsetType | None = msgspec.UNSET
    admin: bool | msgspec.UnsetType = msgspec.UNSET
    deactivated: bool | msgspec.UnsetType = msgspec.UNSET
    locked: bool | msgspec.UnsetType = msgspec.UNSET
    external_ids: list[ExternalId] | msgspec.UnsetType = msgspec.UNSET  # replaces the links


class UserDetails(msgspec.Struct, frozen=True):
    """One account with its profile and the facts derived from it."""

    user: UserRecord
    profile: ProfileRecord
    is_locked: bool
    last_seen_ts: int | None
    external_ids: list[tuple[str, str]]  # (provider, subject): its SSO links


class PutOutcome(msgspec.Struct, frozen=True):
    """What `put_user` did: whether it created the account, and whether to deactivate it."""

    created: bool
    deactivate: bool


def is_locked(user: UserRecord, now_ms: int) -> bool:
    """Locked by an admin, or locked out after wrong passwords until a time still to come."""
    return user.admin_locked or user.locked_until_ts > now_ms


def _text(value: str | msgspec.UnsetType | None) -> str | None:
    """A profile field as write_for_admin takes it: None unchanged, "" cleared."""
    if value is msgspec.UNSET:
        return None
    return value if isinstance(value, str) else ""


class AdminUserService:
    """Admin reads and writes of accounts (both admin APIs and the CLI)."""

    def __init__(
        self,
        db: Database,
        stores: AdminUserStores,
        *,
        accounts: AccountService,
        profile: ProfileService,
        credentials: CredentialChecker,
        device_lists: DeviceListService,
        clock: Clock,
        server_name: str,
    ) -> None:
        self._db, self._clock, self._server_name = db, clock, server_name
        self._users, self._admin_store = stores.users, stores.admin
        self._devices, self._profiles, self._directory = (
            stores.devices, stores.profiles, stores.directory
        )  # fmt: skip
        self._external_ids = stores.external_ids
        self._accounts, self._profile = accounts, profile
        self._credentials, self._device_lists = credentials, device_lists
        self._audit: AuditTrail = accounts.audit

    async def list_users(
        self, actor: Principal, query: UserListQuery
    ) -> tuple[list[UserListRow], int]:
        """A page of accounts and how many match; 400 M_INVALID_PARAM for an unknown order."""
        actor.require_admin()
        if query.order_by not in USER_ORDERS:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"order_by must be one of {', '.join(USER_ORDERS)}"
            )
        return await self._admin_store.list_users(self._db, query, self._clock.now_ms())

    async def get_user(self, actor: Principal, user_id: str) -> UserDetails:
        """An account's details: 404 M_NOT_FOUND if there is none."""
        actor.require_admin()
        user = await self._local_user(user_id)
        profile = await self._profiles.get_profile(self._db, user_id)
        return UserDetails(
            user=user,
            profile=profile or ProfileRecord(displayname=None, avatar_url=None),
            is_locked=is_locked(user, self._clock.now_ms()),
            last_seen_ts=await self._admin_store.last_seen(self._db, user_id),
            external_ids=await self._external_ids.subjects_of_user(self._db, user_id),
        )

    async def _local_user(self, user_id: str) -> UserRecord:
        self._require_local(user_id)
        return await self._accounts.get_user(user_id)

    def _require_local(self, user_id: str) -> None:
        _, _, server = user_id.partition(":")
        if not user_id.startswith("@") or server != self._server_name:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"{user_id} is not a local user")

    async def set_admin(self, actor: Principal, user_id: str, admin: bool) -> None:
        """Make an existing account a server admin or not (404 for an unknown one; an admin
        cannot demote themself); audited `user.update` as any change."""
        actor.require_admin()
        await self._local_user(user_id)
        await self.put_user(actor, user_id, UserChanges(admin=admin))

    async def ratelimit(self, actor: Principal, user_id: str) -> tuple[int, int] | None:
        """The account's own request limit (per second, burst), or None for the server's."""
        actor.require_admin()
        await self._local_user(user_id)
        return await self._admin_store.ratelimit_of(self._db, user_id)

    async def set_ratelimit(
        self, actor: Principal, user_id: str, override: tuple[int, int] | None
    ) -> None:
        """Give the account a request limit of its own ((0, 0): none at all), or take it back
        (None); it applies at the account's next request. Audited `user.ratelimit`."""
        actor.require_admin()
        await self._local_user(user_id)
        if override is not None and min(override) < 0:
            raise MatrixError(400, Errcode.INVALID_PARAM, "the rate and burst must be >= 0")
        if override is not None and max(override) > MAX_RATELIMIT:  # the columns' range
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"the rate and burst must be <= {MAX_RATELIMIT}"
            )
        async with self._db.transaction() as txn:
            await self._admin_store.set_ratelimit(txn, user_id, override)
            details: dict[str, object] = {"override": None}
            if override is not None:
                details["override"] = {"per_second": override[0], "burst": override[1]}
            await self._audit.record(txn, actor, "user.ratelimit", user_id, details)
        log_admin_action(actor, f"set the request limit of {user_id} to {override}")

    async def set_shadow_banned(self, actor: Principal, user_id: str, banned: bool) -> None:
        """Shadow-ban an account or lift it (services/shadow_ban.py); it applies at the
        account's next request on every process (read with the token). Audited
        `user.shadow_ban` / `user.unshadow_ban`, also when it changes nothing (as Synapse,
        repeating the request is not an error)."""
        actor.require_admin()
        action = "user.shadow_ban" if banned else "user.unshadow_ban"
        async with self._audit.attempt(actor, action, user_id):
            await self._local_user(user_id)
            async with self._db.transaction() as txn:
                await self._admin_store.set_shadow_banned(txn, user_id, banned)
                await self._audit.record(txn, actor, action, user_id)
        verb = "shadow-banned" if banned else "lifted the shadow ban of"
        log_admin_action(actor, f"{verb} {user_id}")

    async def username_available(self, actor: Principal, username: str) -> None:
        """400 M_INVALID_USERNAME or M_USER_IN_USE unless `username` could be created now,
        whatever the registration mode (the admin API creates accounts in every mode)."""
        actor.require_admin()
        if not await self._accounts.is_available(username):
            raise MatrixError(400, Errcode.USER_IN_USE, f"{username} is already taken")

    async def put_user(self, actor: Principal, user_id: str, changes: UserChanges) -> PutOutcome:
        """Create `user_id` with `changes`, or apply them to the existing account."""
        actor.require_admin()
        self._require_local(user_id)
        if changes.deactivated is True and changes.locked is True:
            raise MatrixError(400, Errcode.INVALID_PARAM, "A user can't be deactivated and locked")
        _check_external_ids(changes)
        existing = await self._users.get_user(self._db, user_id)
        if existing is None:
            await self._create(actor, user_id, changes)
            return PutOutcome(created=True, deactivate=False)
        await self._modify(actor, existing, changes)
        wants_deactivation = changes.deactivated is True and not existing.is_deactivated
        return PutOutcome(created=False, deactivate=wants_deactivation)

    async def _create(self, actor: Principal, user_id: str, changes: UserChanges) -> None:
        async with self._audit.attempt(actor, "user.create", user_id):
            localpart = user_id[1:].split(":", 1)[0]
            self._accounts.user_id_for(localpart)  # a valid new localpart, or 400
            password = changes.password if isinstance(changes.password, str) else None
            password_hash = (
                await self._accounts.hash_new_password(password) if password is not None else None
            )
            is_admin = changes.admin is True
            async with self._db.transaction() as txn:
                await self._accounts.insert_account(txn, user_id, password_hash, is_admin=is_admin)
                await self._write_profile(txn, user_id, changes)
                details: dict[str, object] = {"admin": is_admin, "fields": _fields(changes)}
                if changes.locked is True:
                    await self._users.set_admin_locked(txn, user_id, True)
                await self._link(txn, user_id, changes)
                await self._audit.record(txn, actor, "user.create", user_id, details)
        log_admin_action(actor, f"created account {user_id}")
        await self._profile.announce(user_id)
        await self._accounts.announce_created(user_id)  # the acceptable-use notice

    async def _write_profile(self, q: Queryable, user_id: str, changes: UserChanges) -> None:
        await self._profile.write_for_admin(
            q,
            user_id,
            displayname=_text(changes.displayname),
            avatar_url=_text(changes.avatar_url),
        )

    async def _modify(self, actor: Principal, user: UserRecord, changes: UserChanges) -> None:
        user_id = user.user_id
        async with self._audit.attempt(actor, "user.update", user_id):
            if changes.admin is False and isinstance(actor, Requester) and actor.user_id == user_id:
                raise MatrixError(400, Errcode.INVALID_PARAM, "You may not demote yourself")
            reactivate = changes.deactivated is False and user.is_deactivated
            if reactivate and not isinstance(changes.password, str):
                raise MatrixError(
                    400, Errcode.MISSING_PARAM, "Must provide a password to re-activate an account"
                )
            password_hash = None
            if isinstance(changes.password, str):
                password_hash = await self._accounts.hash_new_password(changes.password)
            logout = password_hash is not None and changes.logout_devices
            async with self._db.transaction() as txn:
                await self._write_profile(txn, user_id, changes)
                if isinstance(changes.admin, bool) and changes.admin != user.is_admin:
                    await self._admin_store.set_admin(txn, user_id, changes.admin)
                if reactivate:
                    await self._admin_store.reactivate(txn, user_id)
                    profile = await self._profiles.get_profile(txn, user_id)
                    name = profile.displayname if profile is not None else None
                    await self._directory.index(txn, user_id, name)
                if password_hash is not None:
                    await self._set_password(txn, actor, user_id, password_hash, logout=logout)
                if isinstance(changes.locked, bool):
                    await self._set_lock(txn, actor, user, changes.locked)
                await self._link(txn, user_id, changes)
                details = {"fields": _fields(changes), "reactivated": reactivate}
                await self._audit.record(txn, actor, "user.update", user_id, details)
        log_admin_action(actor, f"updated {user_id}")
        await self._after_change(user_id, changes, logout=logout)

    async def _link(self, q: Queryable, user_id: str, changes: UserChanges) -> None:
        """Replace the account's SSO links when the change sets `external_ids` (Synapse: 409
        when a subject is another account's)."""
        if isinstance(changes.external_ids, msgspec.UnsetType):
            return
        links = [(e.auth_provider, e.external_id) for e in changes.external_ids]
        try:
            await self._external_ids.replace_subjects(q, user_id, links, self._clock.now_ms())
        except UniqueViolation:
            raise MatrixError(409, Errcode.UNKNOWN, "External id is already in use.") from None

    async def user_of_external_id(self, actor: Principal, provider: str, subject: str) -> str:
        """The account linked to a provider's subject; 404 M_NOT_FOUND when none is."""
        actor.require_admin()
        user_id = await self._external_ids.account_of_subject(self._db, provider, subject)
        if user_id is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "User not found")
        return user_id

    async def _after_change(self, user_id: str, changes: UserChanges, *, logout: bool) -> None:
        if changes.locked is False:
            self._credentials.forgive(user_id)
        if logout:
            await self._device_lists.devices_removed(user_id, None)
        elif changes.locked is True:
            await self._device_lists.sessions_revoked(user_id)  # its parked polls end (401)
        if changes.displayname is not msgspec.UNSET or changes.avatar_url is not msgspec.UNSET:
            await self._profile.announce(user_id)

    async def _set_password(
        self, txn: Queryable, actor: Principal, user_id: str, password_hash: str, *, logout: bool
    ) -> None:
        await self._users.update_password_hash(txn, user_id, password_hash)
        if logout:
            await self._devices.delete_all_devices(txn, user_id)
        details = {"logout_devices": logout}
        await self._audit.record(txn, actor, "user.reset_password", user_id, details)

    async def _set_lock(
        self, txn: Queryable, actor: Principal, user: UserRecord, locked: bool
    ) -> None:
        if locked:
            if not user.admin_locked:
                await self._users.set_admin_locked(txn, user.user_id, True)
                await self._audit.record(txn, actor, "user.lock", user.user_id)
        elif is_locked(user, self._clock.now_ms()) or user.failed_logins:
            await self._users.unlock(txn, user.user_id)
            details = {"locked_until_ts": user.locked_until_ts, "admin_locked": user.admin_locked}
            await self._audit.record(txn, actor, "user.unlock", user.user_id, details)

    async def set_locked(self, actor: Principal, user_id: str, locked: bool) -> UserDetails:
        """Lock (an admin's lock) or unlock (both locks, password untouched) an account."""
        actor.require_admin()
        action = "user.lock" if locked else "user.unlock"
        async with self._audit.attempt(actor, action, user_id):
            user = await self._local_user(user_id)
            async with self._db.transaction() as txn:
                await self._set_lock(txn, actor, user, locked)
        if not locked:
            self._credentials.forgive(user_id)
        else:  # a lock keeps the sessions, refusing them: wake its parked polls on every process
            await self._device_lists.sessions_revoked(user_id)
        log_admin_action(actor, f"{'locked' if locked else 'unlocked'} {user_id}")
        return await self.get_user(actor, user_id)

    async def reset_password(
        self, actor: Principal, user_id: str, new_password: str, *, logout_devices: bool
    ) -> None:
        """Synapse's `reset_password`: a new password, every device logged out unless asked."""
        actor.require_admin()
        async with self._audit.attempt(actor, "user.reset_password", user_id):
            await self._local_user(user_id)
            password_hash = await self._accounts.hash_new_password(new_password)
            async with self._db.transaction() as txn:
                await self._set_password(txn, actor, user_id, password_hash, logout=logout_devices)
        log_admin_action(actor, f"reset the password of {user_id}")
        if logout_devices:
            await self._device_lists.devices_removed(user_id, None)

    async def set_manager(self, actor: Principal, user_id: str, manager: str | None) -> UserDetails:
        """Set (or clear) an account's manager: an existing local account other than itself."""
        actor.require_admin()
        async with self._audit.attempt(actor, "user.set_manager", user_id):
            await self._local_user(user_id)
            if manager is not None:
                if manager == user_id:
                    raise MatrixError(400, Errcode.INVALID_PARAM, "A user cannot manage itself")
                self._require_local(manager)
                if await self._users.get_user(self._db, manager) is None:
                    raise MatrixError(404, Errcode.NOT_FOUND, f"no such user {manager}")
            async with self._db.transaction() as txn:
                await self._users.set_manager(txn, user_id, manager)
                details = {"manager": manager}
                await self._audit.record(txn, actor, "user.set_manager", user_id, details)
        log_admin_action(actor, f"set the manager of {user_id} to {manager}")
        return await self.get_user(actor, user_id)


def _fields(changes: UserChanges) -> list[str]:
    """The names of the fields a change sets (never their values: one is the password)."""
    names = ("displayname", "avatar_url", "admin", "deactivated", "locked", "external_ids")
    changed = [name for name in names if getattr(changes, name) is not msgspec.UNSET]
    if isinstance(changes.password, str):
        changed.append("password")
    return sorted(changed)


def _check_external_ids(changes: UserChanges) -> None:
    """Each link names a provider and a subject, one per provider (a subject identifies one
    person at a provider; Bastion links an account to one)."""
    if isinstance(changes.external_ids, msgspec.UnsetType):
        return
    providers = [e.auth_provider for e in changes.external_ids]
    if any(not e.auth_provider or not e.external_id for e in changes.external_ids):
        raise MatrixError(400, Errcode.INVALID_PARAM, "auth_provider and external_id are needed")
    if len(set(providers)) != len(providers):
        raise MatrixError(400, Errcode.INVALID_PARAM, "one external_id per auth_provider")
