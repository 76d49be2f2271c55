"""A user's devices: listing, renaming and deleting them (deleting logs them out)."""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Requester
from bastion.services.uia import AuthDict, UiaService
from bastion.store.database import Database
from bastion.store.protocols import DeviceStore
from bastion.store.records import DeviceRecord

__all__ = ["DeviceRecord", "DeviceService"]  # DeviceRecord: the API layer reads it from here

MAX_DISPLAY_NAME_LENGTH = 256


class DeviceService:
    """Devices of the requesting user only: nobody sees or touches another user's devices."""

    def __init__(
        self,
        db: Database,
        devices: DeviceStore,
        uia: UiaService,
        device_lists: DeviceListService,
        audit: AuditTrail,
    ) -> None:
        self._db = db
        self._audit = audit
        self._device_lists = device_lists
        self._devices = devices
        self._uia = uia

    async def list_devices(self, requester: Requester) -> list[DeviceRecord]:
        """Every device of the requester."""
        return await self._devices.list_devices(self._db, requester.user_id)

    async def get_device(self, requester: Requester, device_id: str) -> DeviceRecord:
        """One device of the requester, or 404 M_NOT_FOUND."""
        device = await self._devices.get_device(self._db, requester.user_id, device_id)
        if device is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no device {device_id!r}")
        return device

    async def rename_device(
        self, requester: Requester, device_id: str, display_name: str | None
    ) -> None:
        """Set a device's display name; 404 for a device that is not the requester's."""
        if display_name is not None and len(display_name) > MAX_DISPLAY_NAME_LENGTH:
            raise MatrixError(400, Errcode.INVALID_PARAM, "display_name is too long")
        if not await self._devices.set_display_name(
            self._db, requester.user_id, device_id, display_name
        ):
            raise MatrixError(404, Errcode.NOT_FOUND, f"no device {device_id!r}")
        await self._device_lists.changed(requester.user_id)  # display names travel with keys

    async def delete_devices(
        self, requester: Requester, device_ids: list[str], auth: AuthDict | None
    ) -> None:
        """Delete devices (and so their tokens) after the user re-enters their password; an
        application service acting as its user is not asked (spec v1.17: its users have no
        password, and it manages their devices).

        Unknown device IDs are ignored, as the spec's `delete_devices` asks.
        """
        if requester.appservice is None:
            await self._uia.require_password(requester, auth)
        async with self._db.transaction() as txn:
            await self._devices.delete_devices(txn, requester.user_id, device_ids)
            details = {"devices": sorted(device_ids)}
            await self._audit.record(
                txn, requester, "session.delete_devices", requester.user_id, details
            )
        await self._device_lists.devices_removed(requester.user_id, device_ids)
