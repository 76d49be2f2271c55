"""What an admin reads and prunes around an account: devices, sessions, rooms, uploads, pushers,
account data.

Every method checks admin power first (whois also lets users look themselves up, as the spec
allows), then that the account exists (404 M_NOT_FOUND otherwise, so an admin can tell a typo
from an empty list). Creating, deleting or renaming a device is audited in its transaction
(`device.create`, `device.delete`, `device.rename`); deleting one revokes its tokens, and its
keys are dropped after commit. Reading an account's account data (a person's settings, their
direct chats, the encrypted keys of their secret storage) is audited too
(`user.read_account_data`): it is personal data an admin looks at only for support.
"""

from __future__ import annotations

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_device_id
from bastion.json_types import JsonObject
from bastion.services.audit.trail import AuditTrail
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Principal, log_admin_action, require_self_or_admin
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore, DeviceStore, UserStore
from bastion.store.protocols.admin_users import (
    MEDIA_ORDERS,
    MediaListQuery,
    UserAdminStore,
    UserMediaRow,
)
from bastion.store.protocols.pushers import PusherRecord, PusherStore
from bastion.store.records import DeviceRecord

READ_ACCOUNT_DATA = "user.read_account_data"
ALL_POSITIONS = 2**62  # above any stream position: every entry

__all__ = ["AdminUserData", "DeviceRecord", "MediaListQuery", "PusherRecord", "UserMediaRow"]


class AdminUserData:
    """Admin reads (and device deletions) around one account."""

    def __init__(
        self,
        db: Database,
        stores: tuple[UserStore, UserAdminStore, DeviceStore, PusherStore, AccountDataStore],
        *,
        audit: AuditTrail,
        device_lists: DeviceListService,
        clock: Clock,
    ) -> None:
        self._db, self._audit, self._device_lists, self._clock = db, audit, device_lists, clock
        self._users, self._admin_store, self._devices, self._pushers, self._account_data = stores

    async def _require_user(self, user_id: str) -> None:
        if await self._users.get_user(self._db, user_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no such user {user_id}")

    async def list_devices(self, actor: Principal, user_id: str) -> list[DeviceRecord]:
        """Every device (login session) of the account."""
        actor.require_admin()
        await self._require_user(user_id)
        return await self._devices.list_devices(self._db, user_id)

    async def whois(self, actor: Principal, user_id: str) -> list[DeviceRecord]:
        """The account's sessions, for the user themself or an admin (spec: getWhoIs)."""
        require_self_or_admin(actor, user_id)
        await self._require_user(user_id)
        return await self._devices.list_devices(self._db, user_id)

    async def get_device(self, actor: Principal, user_id: str, device_id: str) -> DeviceRecord:
        """One device: 404 M_NOT_FOUND if the account has none by that ID."""
        actor.require_admin()
        await self._require_user(user_id)
        device = await self._devices.get_device(self._db, user_id, device_id)
        if device is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no device {device_id} for {user_id}")
        return device

    async def rename_device(
        self, actor: Principal, user_id: str, device_id: str, display_name: str | None
    ) -> None:
        """Set a device's display name (audited as `device.rename`)."""
        actor.require_admin()
        async with self._audit.attempt(actor, "device.rename", user_id):
            await self._require_user(user_id)
            async with self._db.transaction() as txn:
                if not await self._devices.set_display_name(txn, user_id, device_id, display_name):
                    raise MatrixError(
                        404, Errcode.NOT_FOUND, f"no device {device_id} for {user_id}"
                    )
                details = {"device_id": device_id}
                await self._audit.record(txn, actor, "device.rename", user_id, details)

    async def create_device(self, actor: Principal, user_id: str, device_id: str) -> bool:
        """Create a device without a session (a bridge's device for end-to-bridge encryption,
        Synapse's `POST v2/users/{userId}/devices`); nothing when it exists. True when created;
        audited `device.create`. A deactivated account gets none: 403 M_FORBIDDEN."""
        actor.require_admin()
        async with self._audit.attempt(actor, "device.create", user_id):
            user = await self._users.get_user(self._db, user_id)
            if user is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"no such user {user_id}")
            if user.is_deactivated:
                raise MatrixError(403, Errcode.FORBIDDEN, f"{user_id} is deactivated")
            if not is_valid_device_id(device_id):
                raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
            async with self._device_lists.changing(user_id) as change:  # others must learn of it
                txn = change.txn
                if await self._devices.get_device(txn, user_id, device_id) is not None:
                    change.changed = False
                    return False
                now = self._clock.now_ms()
                await self._devices.ensure_device(txn, user_id, device_id, None, now)
                details = {"device_id": device_id}
                await self._audit.record(txn, actor, "device.create", user_id, details)
        log_admin_action(actor, f"created device {device_id} of {user_id}")
        return True

    async def delete_devices(self, actor: Principal, user_id: str, device_ids: list[str]) -> None:
        """Delete devices and their tokens (unknown IDs are ignored, as Synapse does)."""
        actor.require_admin()
        async with self._audit.attempt(actor, "device.delete", user_id):
            await self._require_user(user_id)
            async with self._db.transaction() as txn:
                await self._devices.delete_devices(txn, user_id, device_ids)
                details = {"devices": sorted(device_ids)}
                await self._audit.record(txn, actor, "device.delete", user_id, details)
        log_admin_action(actor, f"deleted {len(device_ids)} device(s) of {user_id}")
        await self._device_lists.devices_removed(user_id, device_ids)

    async def joined_rooms(self, actor: Principal, user_id: str) -> list[str]:
        """The rooms the account is joined to."""
        actor.require_admin()
        await self._require_user(user_id)
        return await self._admin_store.joined_rooms(self._db, user_id)

    async def memberships(self, actor: Principal, user_id: str) -> dict[str, str]:
        """Every room the account has a membership in, and which (left and banned ones too)."""
        actor.require_admin()
        await self._require_user(user_id)
        return await self._admin_store.memberships(self._db, user_id)

    async def sent_invite_count(self, actor: Principal, user_id: str, from_ts: int) -> int:
        """How many invitations `user_id` sent at or after `from_ts` (Synapse's, for spotting
        an account inviting people at large: any user ID, 0 for one with none)."""
        actor.require_admin()
        sent = await self._admin_store.member_events_sent(self._db, user_id, from_ts)
        return sum(1 for e in sent if e.membership == "invite" and e.target != user_id)

    async def cumulative_joined_room_count(
        self, actor: Principal, user_id: str, from_ts: int
    ) -> int:
        """How many rooms `user_id` joined at or after `from_ts`, left since or not (a join is
        always the joiner's own event; a profile change, join after join, is not a join)."""
        actor.require_admin()
        sent = await self._admin_store.member_events_sent(self._db, user_id, from_ts)
        return len({
            e.room_id for e in sent
            if e.membership == "join" and e.target == user_id and e.previous != "join"
        })  # fmt: skip

    async def list_media(
        self, actor: Principal, user_id: str, query: MediaListQuery
    ) -> tuple[list[UserMediaRow], int]:
        """A page of the account's uploads and how many there are."""
        actor.require_admin()
        if query.order_by not in MEDIA_ORDERS:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"order_by must be one of {', '.join(MEDIA_ORDERS)}"
            )
        await self._require_user(user_id)
        return await self._admin_store.list_media(self._db, user_id, query)

    async def pushers(self, actor: Principal, user_id: str) -> list[PusherRecord]:
        """The account's pushers."""
        actor.require_admin()
        await self._require_user(user_id)
        return await self._pushers.pushers_of(self._db, user_id)

    async def account_data(
        self, actor: Principal, user_id: str
    ) -> tuple[dict[str, JsonObject], dict[str, dict[str, JsonObject]]]:
        """(global, per room) account data of the account, by type (audited)."""
        actor.require_admin()
        async with self._audit.attempt(actor, READ_ACCOUNT_DATA, user_id):
            await self._require_user(user_id)
            records = await self._account_data.changed_after(
                self._db, user_id, after=0, upto=ALL_POSITIONS
            )
            await self._audit.record_alone(actor, READ_ACCOUNT_DATA, user_id)
        found: dict[str, JsonObject] = {}
        rooms: dict[str, dict[str, JsonObject]] = {}
        for record in records:
            target = rooms.setdefault(record.room_id, {}) if record.room_id else found
            target[record.type] = record.content
        return found, rooms
