"""SCIM Users (RFC 7644 §3): create, read, list, replace, patch and delete accounts.

Invariants:
- Every change is audited in the transaction that makes it (`scim.user.create`,
  `scim.user.update`, `scim.user.delete`, with the changed attributes); a refused one is
  audited as failed.
- `active: false` (PUT or PATCH, however the IdP spells it) and DELETE offboard at once: the
  offboarding workflow (services/offboarding/) runs before the response, so the leaver's
  sessions are gone when the IdP hears 200/204.
- `active: true` on a deactivated account reactivates it *without* its old password: the
  password is the one sent in the same request, or none (the user then needs an admin's
  password reset, or logs in through SSO), so reactivation never revives a credential the
  organisation may have meant to end. Its group rooms are joined again.
- A deleted account stays deactivated and is never reused (Matrix user IDs are not); SCIM
  answers 404 for it from then on (RFC 7644 §3.6).
- The localpart never changes: a new `userName` is remembered and shown, the ID stays.
- A SCIM token never sets a server admin's password (403): it is provisioning power, not a way
  into an admin account.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from scim2_models import (
    Context,
    EnterpriseUser,
    ForbiddenException,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    UniquenessException,
)

from bastion.clock import Clock
from bastion.errors import MatrixError
from bastion.services.accounts import AccountService
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Requester, ScimClient, log_admin_action
from bastion.services.profile import ProfileService
from bastion.services.scim.description import PROVIDER, UserResource
from bastion.services.scim.group_rooms import GroupRooms
from bastion.services.scim.listing import Page, equality_terms, filtered_page
from bastion.services.scim.resources import (
    extra_attributes,
    localpart_for_user_name,
    normalize_patch_payload,
    normalize_user_payload,
    user_resource,
)
from bastion.store.database import Database
from bastion.store.protocols import UserStore
from bastion.store.protocols.scim import AccountFacts, AccountQuery, ScimAccountRow, ScimStore


class Offboarder(Protocol):
    """The offboarding workflow (services/offboarding/), as SCIM calls it."""

    async def offboard(self, actor: ScimClient, user_id: str, *, erase: bool = False) -> object: ...


@dataclass(frozen=True, slots=True)
class UserCollaborators:
    """What ScimUsers works with besides its own store."""

    accounts: AccountService
    users: UserStore
    profile: ProfileService
    offboarding: Offboarder
    group_rooms: GroupRooms


@dataclass(frozen=True, slots=True)
class _Change:
    """What one request asks of an existing account."""

    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    manager: str | None  # a Matrix user ID
    password: str | None
    attributes: str  # JSON: the rest, kept for the IdP

    def facts(self, user_id: str, now_ms: int) -> AccountFacts:
        """What the SCIM store keeps of this change."""
        return AccountFacts(user_id, self.user_name, self.external_id, self.attributes, now_ms)


class ScimUsers:
    """The `/Users` resource operations."""

    def __init__(
        self,
        db: Database,
        store: ScimStore,
        audit: AuditTrail,
        clock: Clock,
        with_: UserCollaborators,
        *,
        server_name: str,
        base_url: str,
    ) -> None:
        self._db, self._store, self._audit, self._clock = db, store, audit, clock
        self._with = with_
        self._server_name = server_name
        self._base_url = base_url  # where /scim/v2 is published (`meta.location`, `$ref`)

    def user_id(self, scim_id: str) -> str:
        """The Matrix user ID of a SCIM user id (its localpart)."""
        return f"@{scim_id.lower()}:{self._server_name}"

    async def get(self, client: ScimClient, scim_id: str) -> UserResource:
        """One account; 404 for an unknown or deleted one."""
        return user_resource(await self._account(scim_id), self._base_url)

    async def list(
        self, client: ScimClient, filter_text: str | None, start_index: int, count: int
    ) -> Page[UserResource]:
        """A page of the accounts matching `filter_text` (RFC 7644 §3.4.2)."""
        narrowed = AccountQuery()
        hints = equality_terms(filter_text)
        if "username" in hints:
            narrowed = AccountQuery(
                user_id=self.user_id(localpart_for_user_name(hints["username"]))
            )
        elif "id" in hints:
            narrowed = AccountQuery(user_id=self.user_id(hints["id"]))
        elif "externalid" in hints:
            narrowed = AccountQuery(external_id=hints["externalid"])
        accounts = await self._store.find_accounts(self._db, narrowed)
        resources = [user_resource(account, self._base_url) for account in accounts]
        return filtered_page(UserResource, resources, filter_text, start_index, count)

    async def create(self, client: ScimClient, body: dict[str, Any]) -> UserResource:
        """POST /Users: a new account; 409 uniqueness if its localpart is taken."""
        localpart = localpart_for_user_name(str(body.get("userName") or ""))
        async with self._audit.attempt(client, "scim.user.create", self.user_id(localpart)):
            resource = _validated(body, Context.RESOURCE_CREATION_REQUEST)
            user_id = _scim_value(lambda: self._with.accounts.user_id_for(localpart))
            change = await self._change_of(resource, default_active=True)
            password_hash = await self._password_hash(change.password)
            now = self._clock.now_ms()
            async with self._db.transaction() as txn:
                if await self._with.users.get_user(txn, user_id) is not None:
                    raise UniquenessException(detail=f"{user_id} already exists")
                await self._with.accounts.insert_account(
                    txn, user_id, password_hash, is_admin=False
                )
                await self._store.upsert_account_facts(txn, change.facts(user_id, now))
                await self._with.users.set_manager(txn, user_id, change.manager)
                if not change.active:
                    await self._with.users.set_deactivated(txn, user_id)
                details = {"userName": change.user_name, "active": change.active}
                await self._audit.record(txn, client, "scim.user.create", user_id, details)
        log_admin_action(client, f"provisioned {user_id}")
        if change.display_name:
            await self._set_displayname(user_id, change.display_name)
        await self._with.accounts.announce_created(user_id)  # the acceptable-use notice
        return await self.get(client, localpart)

    async def replace(self, client: ScimClient, scim_id: str, body: dict[str, Any]) -> UserResource:
        """PUT /Users/{id}: the whole resource as the IdP now sees it."""
        return await self._update(
            client, scim_id, lambda _: _validated(body, Context.RESOURCE_REPLACEMENT_REQUEST)
        )

    async def patch(self, client: ScimClient, scim_id: str, body: dict[str, Any]) -> UserResource:
        """PATCH /Users/{id}: operations applied to the current resource (RFC 7644 §3.5.2)."""

        def patched(account: ScimAccountRow) -> UserResource:
            with PROVIDER:
                operations = PatchOp[UserResource].model_validate(
                    normalize_patch_payload(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST
                )
                resource = user_resource(account, self._base_url)
                operations.patch(resource)
            return resource

        return await self._update(client, scim_id, patched)

    async def delete(self, client: ScimClient, scim_id: str) -> None:
        """DELETE /Users/{id}: offboard at once; SCIM forgets the account."""
        user_id = self.user_id(scim_id)
        async with self._audit.attempt(client, "scim.user.delete", user_id):
            account = await self._account(scim_id)
            if not account.is_deactivated:
                await self._with.offboarding.offboard(client, user_id, erase=False)
            async with self._db.transaction() as txn:
                for group_id in await self._store.groups_of_user(txn, user_id):
                    await self._store.remove_members(txn, group_id, [user_id])
                await self._store.mark_deleted(txn, user_id, self._clock.now_ms())
                await self._audit.record(txn, client, "scim.user.delete", user_id)
        log_admin_action(client, f"deleted {user_id} (SCIM)")

    async def _update(
        self,
        client: ScimClient,
        scim_id: str,
        wanted: Callable[[ScimAccountRow], UserResource],
    ) -> UserResource:
        """Change an account to `wanted(current)`; a refusal (invalid payload included) is
        audited as failed."""
        user_id = self.user_id(scim_id)
        async with self._audit.attempt(client, "scim.user.update", user_id):
            account = await self._account(scim_id)
            resource = wanted(account)
            change = await self._change_of(resource, default_active=not account.is_deactivated)
            changed = _changed_fields(account, change)
            reactivating = account.is_deactivated and change.active
            if change.password is not None:
                await self._require_not_admin(user_id)
            password_hash = await self._password_hash(change.password)
            async with self._db.transaction() as txn:
                facts = change.facts(user_id, self._clock.now_ms())
                await self._store.upsert_account_facts(txn, facts)
                await self._with.users.set_manager(txn, user_id, change.manager)
                if reactivating:
                    await self._store.reactivate_account(txn, user_id, password_hash)
                elif password_hash is not None:
                    await self._with.users.update_password_hash(txn, user_id, password_hash)
                details = {"changed": changed}
                await self._audit.record(txn, client, "scim.user.update", user_id, details)
        await self._after_update(client, user_id, account, change, reactivating=reactivating)
        return await self.get(client, scim_id)

    async def _after_update(
        self,
        client: ScimClient,
        user_id: str,
        account: ScimAccountRow,
        change: _Change,
        *,
        reactivating: bool,
    ) -> None:
        # After commit: these open their own transactions (and audit themselves).
        if change.display_name != account.displayname:
            await self._set_displayname(user_id, change.display_name)
        if not change.active and not account.is_deactivated:
            log_admin_action(client, f"deactivated {user_id} (SCIM)")
            await self._with.offboarding.offboard(client, user_id, erase=False)
        if reactivating:
            log_admin_action(client, f"reactivated {user_id} (SCIM)")
            await self._with.group_rooms.join_user_to_group_rooms(user_id)

    async def _account(self, scim_id: str) -> ScimAccountRow:
        found = await self._store.find_accounts(
            self._db, AccountQuery(user_id=self.user_id(scim_id))
        )
        if not found:
            raise NotFoundException(detail=f"no user {scim_id!r}")
        return found[0]

    async def _change_of(self, resource: UserResource, *, default_active: bool) -> _Change:
        manager_id: str | None = None
        extension = resource[EnterpriseUser]
        if extension is not None and extension.manager is not None and extension.manager.value:
            manager_id = self.user_id(extension.manager.value)
            if await self._with.users.get_user(self._db, manager_id) is None:
                raise InvalidValueException(detail=f"unknown manager {extension.manager.value!r}")
        return _Change(
            user_name=resource.user_name or "",
            external_id=resource.external_id,
            display_name=resource.display_name,
            active=default_active if resource.active is None else resource.active,
            manager=manager_id,
            password=resource.password,
            attributes=extra_attributes(resource),
        )

    async def _require_not_admin(self, user_id: str) -> None:
        """A SCIM token is not admin power: it may not set a server admin's password (that
        would let whoever holds the token log in as the admin)."""
        user = await self._with.users.get_user(self._db, user_id)
        if user is not None and user.is_admin:
            raise ForbiddenException(detail=f"{user_id} is a server admin: set its password as one")

    async def _password_hash(self, password: str | None) -> str | None:
        if password is None:
            return None
        accounts = self._with.accounts
        _scim_value(lambda: accounts.check_password_policy(password))
        return await accounts.hash_new_password(password)

    async def _set_displayname(self, user_id: str, value: str | None) -> None:
        # The profile service changes one's own profile: the IdP acts for the user here, and the
        # change reaches the user's rooms as a member event like any other.
        owner = Requester(user_id, "", is_admin=False)
        await _scim_value_async(self._with.profile.set_displayname(owner, user_id, value))


def _validated(body: dict[str, Any], context: Context) -> UserResource:
    with PROVIDER:
        return UserResource.model_validate(normalize_user_payload(body), scim_ctx=context)


def _changed_fields(account: ScimAccountRow, change: _Change) -> Sequence[str]:
    pairs = {
        "userName": (account.user_name, change.user_name),
        "externalId": (account.external_id, change.external_id),
        "displayName": (account.displayname, change.display_name),
        "active": (not account.is_deactivated, change.active),
        "manager": (account.manager, change.manager),
        "password": (None, change.password and "set"),
    }
    return sorted(name for name, (old, new) in pairs.items() if old != new)


def _scim_value(call: Any) -> Any:
    """Run `call`, turning a 400 MatrixError (bad localpart, weak password) into invalidValue."""
    try:
        return call()
    except MatrixError as exc:
        if exc.status == 400:
            raise InvalidValueException(detail=exc.message) from exc
        raise


async def _scim_value_async(awaitable: Any) -> Any:
    try:
        return await awaitable
    except MatrixError as exc:
        if exc.status == 400:
            raise InvalidValueException(detail=exc.message) from exc
        raise
