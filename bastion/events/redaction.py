"""The redaction algorithm of room versions 7 to 12.

spec: rooms/v11#redactions. Versions 7 to 10 share the v6 algorithm (with the join rules'
`allow` kept from v8, and a join's `join_authorised_via_users_server` from v9), which against
v11's has no `redacts` in content, a different `m.room.create` and power-level key list, and
the `origin`, `membership` and `prev_state` keys kept at the top level.
"""

from __future__ import annotations

from bastion.events.types import before_v11
from bastion.json_types import JsonObject

_TOP_LEVEL_V11 = frozenset(
    {
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
        "signatures", "depth", "prev_events", "auth_events", "origin_server_ts",
    }
)  # fmt: skip
_TOP_LEVEL_V10 = _TOP_LEVEL_V11 | {"origin", "membership", "prev_state"}

_POWER_LEVEL_KEYS_V11 = (
    "ban", "events", "events_default", "invite", "kick", "redact", "state_default",
    "users", "users_default",
)  # fmt: skip


def _kept_keys(event_type: str, room_version: str) -> tuple[str, ...] | None:
    """Content keys that survive redaction; None means all of them."""
    v11 = not before_v11(room_version)
    if event_type == "m.room.create":
        return None if v11 else ("creator",)
    if event_type == "m.room.power_levels":
        return (
            _POWER_LEVEL_KEYS_V11
            if v11
            else tuple(k for k in _POWER_LEVEL_KEYS_V11 if k != "invite")
        )
    simple = {
        "m.room.member": ("membership", "join_authorised_via_users_server")
        if room_version not in ("7", "8")
        else ("membership",),
        "m.room.join_rules": ("join_rule", "allow") if room_version != "7" else ("join_rule",),
        "m.room.history_visibility": ("history_visibility",),
        "m.room.redaction": ("redacts",) if v11 else (),
    }
    return simple.get(event_type, ())


def _kept_content(event_type: str, content: JsonObject, room_version: str) -> JsonObject:
    keys = _kept_keys(event_type, room_version)
    if keys is None:
        return dict(content)
    kept = {k: content[k] for k in keys if k in content}
    third_party = content.get("third_party_invite")
    is_v11_member = event_type == "m.room.member" and not before_v11(room_version)
    if is_v11_member and isinstance(third_party, dict) and "signed" in third_party:
        kept["third_party_invite"] = {"signed": third_party["signed"]}
    return kept


def redact(pdu: JsonObject, room_version: str) -> JsonObject:
    """The event as every reader sees it after redaction (the input is not changed)."""
    top = _TOP_LEVEL_V10 if before_v11(room_version) else _TOP_LEVEL_V11
    redacted = {k: v for k, v in pdu.items() if k in top}
    redacted["content"] = _kept_content(pdu.get("type", ""), pdu.get("content", {}), room_version)
    return redacted
