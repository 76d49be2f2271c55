"""Canonical JSON, content and reference hashes, signatures and event IDs.

spec: appendices#canonical-json, server-server-api#calculating-the-content-hash-for-an-event,
server-server-api#calculating-the-reference-hash-for-an-event, rooms/v4 (event IDs).
Matrix canonical JSON has no floats and integers within ±(2**53 - 1); `check_json_values` refuses
anything else before it can reach a signed event.
"""

from __future__ import annotations

import base64
import hashlib

import msgspec
from canonicaljson import encode_canonical_json
from signedjson.types import SigningKey

from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: object) -> bytes:
    """Keys sorted, no insignificant whitespace, UTF-8."""
    encoded: bytes = encode_canonical_json(value)
    return encoded


_PDU_ENCODER = msgspec.json.Encoder(order="sorted")


def canonical_pdu_json(value: object) -> bytes:
    """`canonical_json` of a value `check_json_values` accepts (no floats: a PDU, its parts),
    several times faster: msgspec with sorted keys writes the same bytes (keys in code point
    order, UTF-8 unescaped, the same control-character escapes)."""
    return _PDU_ENCODER.encode(value)


def unpadded_base64(data: bytes, *, urlsafe: bool = False) -> str:
    """Base64 without `=` padding, as Matrix writes it."""
    encoder = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encoder(data).rstrip(b"=").decode("ascii")


def check_json_values(value: object, path: str = "content") -> None:
    """Refuse floats and integers outside the canonical-JSON range (400 M_BAD_JSON)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MatrixError(400, Errcode.BAD_JSON, f"{path}: integer out of range")
        return
    if isinstance(value, float):
        raise MatrixError(400, Errcode.BAD_JSON, f"{path}: floats are not allowed in events")
    if isinstance(value, dict):
        for key, item in value.items():
            check_json_values(item, f"{path}.{key}")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_json_values(item, f"{path}[{index}]")
        return
    raise MatrixError(400, Errcode.BAD_JSON, f"{path}: unsupported JSON value")


def content_hash(pdu: JsonObject) -> str:
    """sha256 over the event without `unsigned`, `signatures` and `hashes` (base64)."""
    stripped = {k: v for k, v in pdu.items() if k not in ("unsigned", "signatures", "hashes")}
    return unpadded_base64(hashlib.sha256(canonical_pdu_json(stripped)).digest())


def reference_hash_event_id(redacted_pdu: JsonObject) -> str:
    """The event ID of a room v4+ event: `$` + url-safe sha256 of the redacted event."""
    stripped = {k: v for k, v in redacted_pdu.items() if k not in ("unsigned", "signatures")}
    digest = hashlib.sha256(canonical_pdu_json(stripped)).digest()
    return "$" + unpadded_base64(digest, urlsafe=True)


def sign_redacted(redacted_pdu: JsonObject, server_name: str, key: SigningKey) -> JsonObject:
    """The `signatures` block for an event, computed over its redacted form without its
    `signatures` and `unsigned` (appendices#signing-json); `redacted_pdu` is left unchanged."""
    message = {k: v for k, v in redacted_pdu.items() if k not in ("signatures", "unsigned")}
    signature = key.sign(canonical_pdu_json(message)).signature
    held = redacted_pdu.get("signatures") or {}
    signatures: JsonObject = {name: dict(by_key) for name, by_key in held.items()}
    signatures.setdefault(server_name, {})[f"{key.alg}:{key.version}"] = unpadded_base64(signature)
    return signatures
