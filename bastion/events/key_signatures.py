"""Verifying ed25519 signatures on keys clients upload (cross-signing), without I/O.

spec: client-server-api#cross-signing and appendices#signing-json.
"""

from __future__ import annotations

import base64

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json

from bastion.json_types import JsonObject


def ed25519_key(key: JsonObject) -> tuple[str, str] | None:
    """(key ID, base64 public key) of the single ed25519 key in a key object's `keys`."""
    keys = key.get("keys")
    if not isinstance(keys, dict) or len(keys) != 1:
        return None
    key_id, public = next(iter(keys.items()))
    if (
        not isinstance(key_id, str)
        or not key_id.startswith("ed25519:")
        or not isinstance(public, str)
    ):
        return None
    return key_id, public


def _decode(public: str) -> bytes | None:
    try:
        return base64.b64decode(public + "=" * (-len(public) % 4), validate=True)
    except ValueError:
        return None


def is_signed_by(signed: JsonObject, signer_user: str, key_id: str, public: str) -> bool:
    """True if `signed` carries a valid signature by `signer_user` with that ed25519 key."""
    raw = _decode(public)
    if raw is None or len(raw) != 32:
        return False
    verify_key = decode_verify_key_bytes(key_id, raw)
    signatures = signed.get("signatures", {})
    if not isinstance(signatures, dict) or key_id not in signatures.get(signer_user, {}):
        return False
    try:
        verify_signed_json(signed, signer_user, verify_key)
    except SignatureVerifyException:
        return False
    return True
