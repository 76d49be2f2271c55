"""The body of `POST /_matrix/push/v1/notify` for one notification and one pusher
(spec: push-gateway-api#post_matrixpushv1notify).

What leaves the server is exactly what this module writes. With `data.format: event_id_only`:
`event_id`, `room_id`, `prio`, `counts` and the device (app_id, pushkey, pushkey_ts, the pusher's
`data` minus `url`, tweaks); no content, sender, room name or alias. Otherwise also the event's
`type`, `sender`, `content`, the sender's display name, the room's name and alias and
`user_is_target` for member events. Counts whose value is zero are omitted (spec).
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.json_types import JsonObject
from bastion.store.protocols.pushers import PusherRecord

# The notify body (a JsonObject) is JSON the gateway defines, with event content.
EVENT_ID_ONLY = "event_id_only"
_ENCRYPTED = "m.room.encrypted"


class RoomLabels(msgspec.Struct, frozen=True):
    """How the room and the sender are named, from the room's current state."""

    room_name: str | None = None
    room_alias: str | None = None
    sender_display_name: str | None = None


def tweaks_of(actions: list[Any]) -> JsonObject:
    """The `set_tweak` actions as the device's `tweaks` (highlight without a value is true)."""
    tweaks: JsonObject = {}
    for action in actions:
        if isinstance(action, dict) and isinstance(action.get("set_tweak"), str):
            name = action["set_tweak"]
            tweaks[name] = action.get("value", True if name == "highlight" else None)
    return {k: v for k, v in tweaks.items() if v is not None}


def priority(event_type: str, tweaks: JsonObject) -> str:
    """`high` for what should ring now (a sound, a highlight, or an encrypted event whose
    content the server cannot judge), `low` for the rest, so gateways can save battery."""
    if event_type == _ENCRYPTED or tweaks.get("highlight") or tweaks.get("sound"):
        return "high"
    return "low"


def notify_body(
    pusher: PusherRecord,
    event: StoredEvent,
    actions: list[Any],
    *,
    unread: int,
    labels: RoomLabels,
) -> JsonObject:
    """The notify request for `event` to `pusher`'s device."""
    data: JsonObject = msgspec.json.decode(pusher.data)
    data.pop("url", None)
    tweaks = tweaks_of(actions)
    device: JsonObject = {
        "app_id": pusher.app_id,
        "pushkey": pusher.pushkey,
        "pushkey_ts": pusher.created_ts // 1000,
        "data": data,
        "tweaks": tweaks,
    }
    notification: JsonObject = {
        "event_id": event.event_id,
        "room_id": event.room_id,
        "prio": priority(event.type, tweaks),
        "counts": {"unread": unread} if unread > 0 else {},
        "devices": [device],
    }
    if data.get("format") == EVENT_ID_ONLY:
        return {"notification": notification}
    notification["type"] = event.type
    notification["sender"] = event.sender
    if event.content:
        notification["content"] = event.content
    if event.type == EventType.MEMBER:
        notification["user_is_target"] = event.state_key == pusher.user_id
    for name, value in msgspec.structs.asdict(labels).items():
        if value is not None:
            notification[name] = value
    return {"notification": notification}
