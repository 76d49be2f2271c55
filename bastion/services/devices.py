"""A user's devices: listing, renaming and deleting them (deleting logs them out); an
application service also creates them for its users (spec v1.17, application-service-api
"Device management": end-to-bridge encryption without a login, so without an access token)."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_device_id
from bastion.services.appservices.registry import AppServiceRegistry
from bastion.services.audit.trail import AuditTrail
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Requester
from bastion.services.ratelimit import RateLimiter
from bastion.services.uia import AuthDict, UiaAction, UiaService
from bastion.store.database import Database
from bastion.store.protocols import DeviceStore
from bastion.store.records import DeviceRecord

__all__ = ["DeviceCreation", "DeviceRecord", "DeviceService"]  # DeviceRecord: read by the API

MAX_DISPLAY_NAME_LENGTH = 256


@dataclass(frozen=True, slots=True)
class DeviceCreation:
    """What creating a device for a service's user takes: the time, the registrations (is the
    service `rate_limited`?) and the limit creations count against. The spec: "rate-limited
    for device creation. Servers MAY use login rate limits"; we take the login limiter, keyed
    by the service where a login is keyed by its address."""

    clock: Clock
    registry: AppServiceRegistry
    login_limiter: RateLimiter


class DeviceService:
    """Devices of the requesting user only: nobody sees or touches another user's devices."""

    def __init__(
        self,
        db: Database,
        devices: DeviceStore,
        uia: UiaService,
        device_lists: DeviceListService,
        audit: AuditTrail,
        *,
        creation: DeviceCreation,
    ) -> None:
        self._db = db
        self._audit = audit
        self._creation = creation
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

    async def put_device(
        self, requester: Requester, device_id: str, display_name: str | None
    ) -> bool:
        """Rename a device of the requester (a missing `display_name` keeps the name), or create
        it when an application service acts as the user; True when it was created.

        A person gets 404 for a device that is not theirs, as before v1.17: their devices come
        from logging in, which also gives the device its token."""
        if display_name is not None and len(display_name) > MAX_DISPLAY_NAME_LENGTH:
            raise MatrixError(400, Errcode.INVALID_PARAM, "display_name is too long")
        user_id = requester.user_id
        # Display names travel with keys; a new device is one others' clients must learn of.
        async with self._device_lists.changing(user_id) as change:
            txn = change.txn
            if await self._devices.get_device(txn, user_id, device_id) is not None:
                if display_name is None:
                    change.changed = False
                    return False
                await self._devices.set_display_name(txn, user_id, device_id, display_name)
                created = False
            elif requester.appservice is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"no device {device_id!r}")
            else:
                self._check_creation(requester.appservice, user_id, device_id)
                now = self._creation.clock.now_ms()
                await self._devices.ensure_device(txn, user_id, device_id, display_name, now)
                details = {"device_id": device_id}
                await self._audit.record(txn, requester, "session.create_device", user_id, details)
                created = True
        return created

    def _check_creation(self, appservice: str, user_id: str, device_id: str) -> None:
        """The device ID rules of login, and the creation limit for a `rate_limited` service's
        users (never its sender, as for its other requests: identity.py)."""
        if not is_valid_device_id(device_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
        registration = self._creation.registry.by_id(appservice)
        if registration is None or not registration.rate_limited:
            return
        if user_id != registration.sender:
            self._creation.login_limiter.hit(f"appservice {registration.id}")

    async def delete_devices(
        self, requester: Requester, device_ids: list[str], auth: AuthDict | None
    ) -> None:
        """Delete devices (and so their tokens) after the user re-enters their password; an
        application service acting as its user is not asked (spec v1.17: its users have no
        password, and it manages their devices).

        Unknown device IDs are ignored, as the spec's `delete_devices` asks.
        """
        if requester.appservice is None:
            action = UiaAction.REMOVE_DEVICES
            await self._uia.require_reauthentication(requester, auth, action)
        async with self._db.transaction() as txn:
            await self._devices.delete_devices(txn, requester.user_id, device_ids)
            details = {"devices": sorted(device_ids)}
            await self._audit.record(
                txn, requester, "session.delete_devices", requester.user_id, details
            )
        await self._device_lists.devices_removed(requester.user_id, device_ids)
