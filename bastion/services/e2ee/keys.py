"""Device keys, one-time and fallback keys (spec: client-server-api#end-to-end-encryption).

`upload` stores what a device publishes; `query` returns the devices and cross-signing keys of
users with their signatures merged in; `claim` hands out one one-time key per device (a
fallback key when none is left). Only local users exist: others are reported as failures.

Invariant: a signature on a user's key is shown only when the key's owner made it (their
devices, self-signing and master keys: public) or the requester did. A signature by another
user is made with that user's user-signing key, and the spec keeps those "only visible to the
user who created them" (client-server-api#cross-signing), so alice's signature on bob's master
key reaches alice alone, never bob or carol.
"""

from __future__ import annotations

from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.ids import UserID
from bastion.json_types import JsonObject
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import KeyStore

MAX_KEYS_PER_UPLOAD = 1000
MAX_QUERY_USERS = 1000


def split_key_id(full_id: object) -> tuple[str, str]:
    """`algorithm:key_id` into its parts; 400 M_INVALID_PARAM otherwise."""
    if not isinstance(full_id, str) or full_id.count(":") < 1:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid key ID {full_id!r}")
    algorithm, _, key_id = full_id.partition(":")
    if not algorithm or not key_id:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid key ID {full_id!r}")
    return algorithm, key_id


def _key_map(value: object, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_KEYS_PER_UPLOAD:
        raise MatrixError(
            400, Errcode.BAD_JSON, f"{name} must be an object of at most {MAX_KEYS_PER_UPLOAD} keys"
        )
    return value


class KeysService:
    """Publishing and fetching the keys devices encrypt to."""

    def __init__(
        self, db: Database, keys: KeyStore, device_lists: DeviceListService, server_name: str
    ) -> None:
        self._db = db
        self._keys = keys
        self._device_lists = device_lists
        self._server_name = server_name

    async def upload(self, requester: Requester, body: JsonObject) -> dict[str, int]:
        """`POST /keys/upload`; returns the device's one-time key counts."""
        user_id, device_id = requester.user_id, requester.device_id
        device_keys = body.get("device_keys")
        one_time = _key_map(body.get("one_time_keys"), "one_time_keys")
        fallback = _key_map(
            body.get("fallback_keys") or body.get("org.matrix.msc2732.fallback_keys"),
            "fallback_keys",
        )
        if device_keys is not None:
            self._check_device_keys(requester, device_keys)
        # Only new device keys change the device list: one-time and fallback keys alone take no
        # stream position (an upload of those is frequent, and nobody needs to hear of it).
        changing = (user_id,) if device_keys is not None else ()
        async with self._device_lists.changing(*changing) as change:
            t = change.txn
            change.changed = False
            if device_keys is not None:
                current = await self._keys.device_keys(t, [user_id])
                existing = current.get((user_id, device_id))
                if existing is None or existing[0] != device_keys:
                    await self._keys.put_device_keys(t, user_id, device_id, device_keys)
                    change.changed = True
            rows = [(*split_key_id(full_id), key) for full_id, key in one_time.items()]
            if rows:
                await self._keys.add_one_time_keys(t, user_id, device_id, rows)
            for full_id, key in fallback.items():
                algorithm, key_id = split_key_id(full_id)
                await self._keys.set_fallback_key(t, user_id, device_id, algorithm, key_id, key)
            counts = await self._keys.one_time_key_counts(t, user_id, device_id)
        return counts

    @staticmethod
    def _check_device_keys(requester: Requester, device_keys: object) -> None:
        if not isinstance(device_keys, dict):
            raise MatrixError(400, Errcode.BAD_JSON, "device_keys must be an object")
        if (
            device_keys.get("user_id") != requester.user_id
            or device_keys.get("device_id") != requester.device_id
        ):
            raise MatrixError(
                400, Errcode.INVALID_PARAM, "device_keys must be for your own user and device"
            )
        if not isinstance(device_keys.get("keys"), dict) or not isinstance(
            device_keys.get("algorithms"), list
        ):
            raise MatrixError(400, Errcode.BAD_JSON, "device_keys needs keys and algorithms")

    async def query(self, requester: Requester, body: JsonObject) -> JsonObject:
        """`POST /keys/query`."""
        wanted = body.get("device_keys")
        if not isinstance(wanted, dict) or len(wanted) > MAX_QUERY_USERS:
            raise MatrixError(
                400, Errcode.BAD_JSON, "device_keys must map user IDs to device lists"
            )
        local, failures = self._local_users(list(wanted))
        devices = await self._keys.device_keys(self._db, local)
        cross = await self._keys.cross_signing_keys(self._db, local)
        signatures = await self._keys.signatures_for(self._db, local)
        result: JsonObject = {"device_keys": {u: {} for u in local}, "failures": failures}
        for (user_id, device_id), (keys, display_name) in devices.items():
            asked = wanted.get(user_id) or []
            if asked and device_id not in asked:
                continue
            entry = dict(keys)
            if display_name is not None:
                entry["unsigned"] = {"device_display_name": display_name}
            result["device_keys"][user_id][device_id] = _with_signatures(
                entry, (user_id, device_id), signatures, viewer=requester.user_id
            )
        for key_type, field in (
            ("master", "master_keys"),
            ("self_signing", "self_signing_keys"),
            ("user_signing", "user_signing_keys"),
        ):
            found: JsonObject = {}
            for (user_id, kind), key in cross.items():
                if kind != key_type or (
                    key_type == "user_signing" and user_id != requester.user_id
                ):
                    continue
                public = next(iter(key.get("keys", {}).values()), "")
                found[user_id] = _with_signatures(
                    dict(key), (user_id, public), signatures, viewer=requester.user_id
                )
            result[field] = found
        return result

    async def claim(self, requester: Requester, body: JsonObject) -> JsonObject:
        """`POST /keys/claim`: one key per requested device; unknown devices are left out."""
        wanted = body.get("one_time_keys")
        if not isinstance(wanted, dict):
            raise MatrixError(400, Errcode.BAD_JSON, "one_time_keys must be an object")
        local, failures = self._local_users(list(wanted))
        claimed: JsonObject = {}
        async with self._db.transaction() as t:
            for user_id in local:
                devices = wanted[user_id]
                if not isinstance(devices, dict):
                    raise MatrixError(400, Errcode.BAD_JSON, "one_time_keys values must be objects")
                for device_id, algorithm in devices.items():
                    if not isinstance(algorithm, str):
                        raise MatrixError(400, Errcode.BAD_JSON, "algorithm must be a string")
                    key = await self._keys.claim_one_time_key(t, user_id, device_id, algorithm)
                    key = key or await self._keys.use_fallback_key(t, user_id, device_id, algorithm)
                    if key is not None:
                        claimed.setdefault(user_id, {})[device_id] = {
                            f"{algorithm}:{key[0]}": key[1]
                        }
        return {"one_time_keys": claimed, "failures": failures}

    async def counts(self, requester: Requester) -> tuple[dict[str, int], list[str]]:
        """The requester's device's one-time key counts and unused fallback key algorithms."""
        return await self._keys.key_counts(self._db, requester.user_id, requester.device_id)

    def _local_users(self, user_ids: list[str]) -> tuple[list[str], JsonObject]:
        local: list[str] = []
        failures: JsonObject = {}
        for user_id in user_ids:
            server = UserID.parse(user_id).server_name
            if server == self._server_name:
                local.append(user_id)
            else:
                failures[server] = {"errcode": "M_UNKNOWN", "error": "federation is not available"}
        return local, failures


def _with_signatures(
    key: JsonObject,
    target: tuple[str, str],
    signatures: list[tuple[str, str, str, str, str]],
    *,
    viewer: str,
) -> JsonObject:
    """Merge stored signatures over `target` (user ID, key ID) into the key's `signatures`,
    keeping only those `viewer` may see: the owner's and the viewer's own."""
    owner = target[0]
    visible = {owner, viewer}
    merged: dict[str, dict[str, str]] = {
        s: dict(v) for s, v in key.get("signatures", {}).items() if s in visible
    }
    for signer, signer_key, target_user, target_key, signature in signatures:
        if (target_user, target_key) == target and signer in visible:
            merged.setdefault(signer, {})[signer_key] = signature
    if merged or "signatures" in key:
        key["signatures"] = merged
    return key
