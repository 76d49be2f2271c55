"""Cross-signing keys and signatures (spec: client-server-api#cross-signing).

Every signature is verified before it is stored: self-signing and user-signing keys must be signed
by the user's master key, a device signed by the self-signing key, a master key signed by one of
the user's own devices or (another user's master key) by the user-signing key. Replacing an
existing master key needs the user's password (UIA); the first upload does not.
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.events.key_signatures import ed25519_key, is_signed_by
from bastion.json_types import JsonObject
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.principal import Requester
from bastion.services.uia import UiaAction, UiaService
from bastion.store.database import Database
from bastion.store.protocols import KeyStore

KEY_FIELDS = (
    ("master_key", "master"),
    ("self_signing_key", "self_signing"),
    ("user_signing_key", "user_signing"),
)


class CrossSigningService:
    """Stores cross-signing keys and verified signatures."""

    def __init__(
        self, db: Database, keys: KeyStore, device_lists: DeviceListService, uia: UiaService
    ) -> None:
        self._db = db
        self._keys = keys
        self._device_lists = device_lists
        self._uia = uia

    async def upload_keys(self, requester: Requester, body: JsonObject) -> None:
        """`POST /keys/device_signing/upload`."""
        user_id = requester.user_id
        current = await self._keys.cross_signing_keys(self._db, [user_id])
        new_master = body.get("master_key")
        existing_master = current.get((user_id, "master"))
        replacing = existing_master is not None and new_master not in (None, existing_master)
        if replacing and requester.appservice is None:  # a service replaces its users' freely
            action = UiaAction.REPLACE_CROSS_SIGNING
            await self._uia.require_reauthentication(requester, body.get("auth"), action)
        master = new_master if new_master is not None else existing_master
        uploads: list[tuple[str, JsonObject]] = []
        for field, key_type in KEY_FIELDS:
            key = body.get(field)
            if key is None:
                continue
            _check_key(key, user_id, key_type)
            unsigned = master is None or not _signed_by_key(key, user_id, master)
            if key_type != "master" and unsigned:
                raise MatrixError(
                    400, Errcode.INVALID_SIGNATURE, f"{field} is not signed by the master key"
                )
            uploads.append((key_type, key))
        if not uploads:
            raise MatrixError(400, Errcode.MISSING_PARAM, "no cross-signing key given")
        async with self._device_lists.changing(user_id) as change:
            for key_type, key in uploads:
                await self._keys.put_cross_signing_key(change.txn, user_id, key_type, key)

    async def upload_signatures(self, requester: Requester, body: JsonObject) -> JsonObject:
        """`POST /keys/signatures/upload`: returns `failures` for signatures that do not verify."""
        signer = requester.user_id
        own = await self._keys.cross_signing_keys(self._db, [signer])
        failures: JsonObject = {}
        accepted: list[tuple[tuple[str, str], tuple[str, str], str]] = []
        for target_user, objects in body.items():
            if not isinstance(objects, dict):
                raise MatrixError(400, Errcode.BAD_JSON, "signatures must map user IDs to objects")
            for target_key_id, signed in objects.items():
                try:
                    accepted += await self._verify(signer, own, target_user, target_key_id, signed)
                except MatrixError as exc:
                    failures.setdefault(target_user, {})[target_key_id] = {
                        "errcode": str(exc.errcode),
                        "error": exc.message,
                    }
        targets = sorted({target[0] for _, target, _ in accepted})
        async with self._device_lists.changing(*targets) as change:
            for signer_key, target, signature in accepted:
                await self._keys.put_signature(change.txn, signer_key, target, signature)
        return {"failures": failures}

    async def _verify(
        self,
        signer: str,
        own: dict[tuple[str, str], JsonObject],
        target_user: str,
        target_key_id: str,
        signed: object,
    ) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
        if not isinstance(signed, dict):
            raise MatrixError(400, Errcode.BAD_JSON, "a signed object must be an object")
        if target_user == signer:
            devices = await self._keys.device_keys(self._db, [signer])
            if (
                signer,
                target_key_id,
            ) in devices:  # one of my devices, signed by my self-signing key
                return _accept(
                    signer, own.get((signer, "self_signing")), signed, target_user, target_key_id
                )
            master = own.get((signer, "master"))
            if master is not None and ed25519_key(master) == (
                f"ed25519:{target_key_id}",
                target_key_id,
            ):
                for (user, device_id), (
                    keys,
                    _name,
                ) in devices.items():  # my master key, signed by a device
                    device_key = keys.get("keys", {}).get(f"ed25519:{device_id}")
                    sig = signed.get("signatures", {}).get(signer, {}).get(f"ed25519:{device_id}")
                    if (
                        sig
                        and device_key
                        and is_signed_by(signed, signer, f"ed25519:{device_id}", device_key)
                    ):
                        return [((signer, f"ed25519:{device_id}"), (user, target_key_id), sig)]
            raise MatrixError(400, Errcode.INVALID_SIGNATURE, "signature does not verify")
        theirs = await self._keys.cross_signing_keys(self._db, [target_user])
        master = theirs.get((target_user, "master"))
        if master is None or ed25519_key(master) != (f"ed25519:{target_key_id}", target_key_id):
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown key")
        return _accept(
            signer, own.get((signer, "user_signing")), signed, target_user, target_key_id
        )


def _accept(
    signer: str,
    signing_key: JsonObject | None,
    signed: JsonObject,
    target_user: str,
    target_key_id: str,
) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
    found = ed25519_key(signing_key) if signing_key is not None else None
    if found is None or not is_signed_by(signed, signer, *found):
        raise MatrixError(400, Errcode.INVALID_SIGNATURE, "signature does not verify")
    return [
        ((signer, found[0]), (target_user, target_key_id), signed["signatures"][signer][found[0]])
    ]


def _check_key(key: object, user_id: str, key_type: str) -> None:
    if not isinstance(key, dict) or key.get("user_id") != user_id:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{key_type} key must belong to {user_id}")
    usage = key.get("usage")
    if not isinstance(usage, list) or key_type not in usage or ed25519_key(key) is None:
        raise MatrixError(
            400,
            Errcode.INVALID_PARAM,
            f"{key_type} key needs usage [{key_type!r}] and one ed25519 key",
        )


def _signed_by_key(key: JsonObject, user_id: str, signing_key: JsonObject) -> bool:
    found = ed25519_key(signing_key)
    return found is not None and is_signed_by(key, user_id, *found)
