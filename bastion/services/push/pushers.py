"""Pushers: `GET /pushers` and `POST /pushers/set` (spec: client-server-api#push-notifications).

A pusher is keyed by (user, app_id, pushkey) and belongs to the device of the access token that
set it; the `pushers` table's foreign key deletes it with that device (logout, device deletion,
deactivation). Only `http` pushers exist here; their `data.url` passes `GatewayPolicy` when set.
`append: false` (the default) removes every other user's pusher with the same app_id and pushkey,
in the same transaction that stores this one. A new pusher starts at the current stream position:
it delivers what happens from now on, never the backlog.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject
from bastion.services.principal import Requester
from bastion.services.push.gateways import GatewayPolicy
from bastion.store.database import Database
from bastion.store.protocols.pushers import PusherRecord, PusherStore
from bastion.store.stream import PositionAllocator

# Client data forwarded to the gateway as given (spec: "Servers MUST forward the entire content").
MAX_APP_ID_CHARS = 64
MAX_PUSHKEY_BYTES = 512
EVENT_ID_ONLY = "event_id_only"
_Unset = msgspec.UnsetType


class PusherRequest(msgspec.Struct, frozen=True):
    """Body of `POST /pushers/set`; required fields are checked by `PusherService.set` so a
    missing one gives M_MISSING_PARAM as the spec shows."""

    kind: str | _Unset | None = msgspec.UNSET
    app_id: str | _Unset = msgspec.UNSET
    pushkey: str | _Unset = msgspec.UNSET
    app_display_name: str | _Unset = msgspec.UNSET
    device_display_name: str | _Unset = msgspec.UNSET
    profile_tag: str | None = None
    lang: str | _Unset = msgspec.UNSET
    data: JsonObject | _Unset = msgspec.UNSET
    append: bool = False


class PusherWatcher(Protocol):
    """Told after commit that a user now has a pusher (the delivery worker)."""

    def watch(self, user_id: str) -> None: ...


class PusherService:
    """Lists and sets the requester's pushers."""

    def __init__(
        self,
        db: Database,
        store: PusherStore,
        policy: GatewayPolicy,
        positions: PositionAllocator,
        clock: Clock,
        watcher: PusherWatcher,
    ) -> None:
        self._db = db
        self._store = store
        self._policy = policy
        self._positions = positions
        self._clock = clock
        self._watcher = watcher

    async def list_pushers(self, requester: Requester) -> list[JsonObject]:
        """The requester's pushers in the shape of `GET /pushers`."""
        return [
            _client_format(p) for p in await self._store.pushers_of(self._db, requester.user_id)
        ]

    async def set_pusher(self, requester: Requester, body: PusherRequest) -> None:
        """Create, update (`kind` a string) or delete (`kind` null) one pusher."""
        missing = [n for n in ("kind", "app_id", "pushkey") if getattr(body, n) is msgspec.UNSET]
        if missing:
            raise MatrixError(
                400, Errcode.MISSING_PARAM, f"Missing parameters: {', '.join(missing)}"
            )
        assert isinstance(body.app_id, str)
        assert isinstance(body.pushkey, str)
        if body.kind is None:
            async with self._db.transaction() as txn:
                await self._store.delete_pusher(txn, requester.user_id, body.app_id, body.pushkey)
            return
        record = self._record(requester, body)
        async with self._db.transaction() as txn:
            if not body.append:
                await self._store.delete_others(txn, record.user_id, record.app_id, record.pushkey)
            await self._store.upsert_pusher(txn, record)
        self._watcher.watch(requester.user_id)

    def _record(self, requester: Requester, body: PusherRequest) -> PusherRecord:
        """Validate a create/update body into the row to store."""
        if body.kind != "http":
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"pusher kind {body.kind!r} is not supported (http only)",
            )
        fields = ("app_display_name", "device_display_name", "lang", "data")
        missing = [n for n in fields if getattr(body, n) is msgspec.UNSET]
        if missing:
            raise MatrixError(
                400, Errcode.MISSING_PARAM, f"Missing parameters: {', '.join(missing)}"
            )
        assert isinstance(body.app_id, str)
        assert isinstance(body.pushkey, str)
        assert isinstance(body.data, dict)
        if not body.app_id or len(body.app_id) > MAX_APP_ID_CHARS:
            raise MatrixError(400, Errcode.INVALID_PARAM, "app_id must be 1 to 64 characters")
        if not body.pushkey or len(body.pushkey.encode()) > MAX_PUSHKEY_BYTES:
            raise MatrixError(400, Errcode.INVALID_PARAM, "pushkey must be 1 to 512 bytes")
        if "url" not in body.data:
            raise MatrixError(400, Errcode.MISSING_PARAM, "Missing parameters: data.url")
        self._policy.check(body.data["url"])
        data_format = body.data.get("format")
        if data_format is not None and data_format != EVENT_ID_ONLY:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"data.format {data_format!r}: only {EVENT_ID_ONLY!r}"
            )
        return PusherRecord(
            user_id=requester.user_id, app_id=body.app_id, pushkey=body.pushkey,
            device_id=requester.device_id, kind=body.kind,
            app_display_name=str(body.app_display_name),
            device_display_name=str(body.device_display_name), profile_tag=body.profile_tag,
            lang=str(body.lang), data=msgspec.json.encode(body.data).decode(),
            created_ts=self._clock.now_ms(), last_stream_ordering=self._positions.persisted_upto(),
        )  # fmt: skip


def _client_format(pusher: PusherRecord) -> JsonObject:
    fields: JsonObject = {
        "pushkey": pusher.pushkey,
        "kind": pusher.kind,
        "app_id": pusher.app_id,
        "app_display_name": pusher.app_display_name,
        "device_display_name": pusher.device_display_name,
        "lang": pusher.lang,
        "data": msgspec.json.decode(pusher.data),
    }
    if pusher.profile_tag is not None:
        fields["profile_tag"] = pusher.profile_tag
    return fields
