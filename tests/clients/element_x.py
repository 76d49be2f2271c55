"""What Element X sends and reads over Simplified Sliding Sync (MSC4186), as raw HTTP.

Element X is matrix-rust-sdk; its JSON is ruma's `sync_events/v5.rs` (the pre-merge dialect):
`pos` and `timeout` (milliseconds) are query parameters, `conn_id` and the lists are in the body,
a list has `ranges` ([[0, 19]]) and `required_state` as [type, state_key] pairs. It keeps three
connections per device, each with its own `conn_id`:

* `room-list` (matrix-sdk-ui room_list_service): one list `all_rooms`, first in "selective" mode
  with the range 0..=19 and `timeout=0`, then in "growing" mode: 0..=99, 0..=199, ... by batches
  of 100 until the range covers `count`, still with `timeout=0`; once fully loaded it long-polls
  (30 s by default). `timeline_limit` 1, `required_state` DEFAULT_REQUIRED_STATE below,
  `filters: {}`, extensions account_data, receipts (rooms ["*"]) and typing.
* `encryption` (encryption_sync_service): no lists, only the `to_device` and `e2ee` extensions;
  the to-device `since` is the `next_batch` of the last response it processed.
* `notifications` (notification_client): a list `invites` (`is_invite: true`, 0..=16,
  `timeline_limit` 8) and a subscription to the room of the notification (`timeline_limit` 16),
  with a 1 s long-poll.

`RoomShape`/`check_*` check a response against the types ruma deserialises: a field of the wrong
type makes the whole response fail to parse in the app, so these are checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

JsonObject = dict[str, Any]

UNSTABLE_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
ROOM_LIST_CONN = "room-list"
ENCRYPTION_CONN = "encryption"
NOTIFICATIONS_CONN = "notifications"
ALL_ROOMS = "all_rooms"
FIRST_SCREEN = (0, 19)  # ALL_ROOMS_DEFAULT_SELECTIVE_RANGE
GROWING_BATCH = 100  # ALL_ROOMS_DEFAULT_GROWING_BATCH_SIZE

# room_list_service/mod.rs DEFAULT_REQUIRED_STATE, in the order the SDK sends it.
DEFAULT_REQUIRED_STATE: list[list[str]] = [
    ["m.room.name", ""],
    ["m.room.encryption", ""],
    ["m.room.member", "$LAZY"],
    ["m.room.member", "$ME"],
    ["m.room.topic", ""],
    ["m.room.avatar", ""],
    ["m.room.canonical_alias", ""],
    ["m.room.power_levels", ""],
    ["org.matrix.msc3401.call.member", "*"],
    ["m.room.join_rules", ""],
    ["m.room.tombstone", ""],
    ["m.room.create", ""],
    ["m.room.history_visibility", ""],
    ["io.element.functional_members", ""],
    ["m.space.parent", "*"],
    ["m.space.child", "*"],
    ["org.matrix.msc3672.beacon_info", "*"],
]
# What a room subscription adds (DEFAULT_ROOM_SUBSCRIPTION_EXTRA_REQUIRED_STATE).
SUBSCRIPTION_REQUIRED_STATE = [*DEFAULT_REQUIRED_STATE, ["m.room.pinned_events", ""]]

# notification_client.rs try_sliding_sync.
NOTIFICATION_REQUIRED_STATE: list[list[str]] = [
    ["m.room.encryption", ""],
    ["m.room.member", "$LAZY"],
    ["m.room.member", "$ME"],
    ["m.room.canonical_alias", ""],
    ["m.room.name", ""],
    ["m.room.avatar", ""],
    ["m.room.power_levels", ""],
    ["m.room.join_rules", ""],
    ["org.matrix.msc3401.call.member", "*"],
    ["m.room.create", ""],
    ["io.element.functional_members", ""],
]


def room_list_body(end: int) -> JsonObject:
    """The `room-list` connection's body with the `all_rooms` range 0..=`end`."""
    return {
        "conn_id": ROOM_LIST_CONN,
        "lists": {
            ALL_ROOMS: {
                "ranges": [[0, end]],
                "required_state": DEFAULT_REQUIRED_STATE,
                "timeline_limit": 1,
                "filters": {},
            }
        },
        "extensions": {
            "account_data": {"enabled": True},
            "receipts": {"enabled": True, "rooms": ["*"]},
            "typing": {"enabled": True},
        },
    }


def growing_ends(count: int) -> list[int]:
    """The range ends of the growing mode after the first screen: 99, 199, ... up to count-1
    (request_generator.rs: the end grows by the batch and is capped by the list's count)."""
    ends, fetched = [], 0
    while fetched < count:
        end = min(fetched + GROWING_BATCH, count) - 1
        ends.append(end)
        fetched = end + 1
    return ends


def encryption_body(to_device_since: str | None) -> JsonObject:
    """The `encryption` connection's body: to-device and e2ee only."""
    to_device: JsonObject = {"enabled": True}
    if to_device_since is not None:
        to_device["since"] = to_device_since
    return {
        "conn_id": ENCRYPTION_CONN,
        "extensions": {"to_device": to_device, "e2ee": {"enabled": True}},
    }


def notifications_body(room_ids: list[str]) -> JsonObject:
    """The `notifications` connection's body: invites, plus the rooms being notified about."""
    return {
        "conn_id": NOTIFICATIONS_CONN,
        "lists": {
            "invites": {
                "ranges": [[0, 16]],
                "required_state": NOTIFICATION_REQUIRED_STATE,
                "timeline_limit": 8,
                "filters": {"is_invite": True},
            }
        },
        "room_subscriptions": {
            room_id: {"required_state": NOTIFICATION_REQUIRED_STATE, "timeline_limit": 16}
            for room_id in room_ids
        },
        "extensions": {"account_data": {"enabled": True}},
    }


@dataclass
class Connection:
    """One sliding-sync connection of one device: its `conn_id` and the last processed `pos`."""

    http: httpx.AsyncClient
    access_token: str
    conn_id: str
    pos: str | None = None
    responses: list[JsonObject] = field(default_factory=list)

    async def request(self, body: JsonObject, timeout_ms: int = 0) -> httpx.Response:
        """POST the body as matrix-rust-sdk does: `pos` and `timeout` in the query string."""
        assert body.get("conn_id") == self.conn_id
        params = {"timeout": str(timeout_ms)}
        if self.pos is not None:
            params["pos"] = self.pos
        return await self.http.post(
            UNSTABLE_PATH,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout=timeout_ms / 1000 + 30,
        )

    async def sync(self, body: JsonObject, timeout_ms: int = 0) -> JsonObject:
        """One request; fails the test unless it is a 200 the SDK can parse; keeps the `pos`."""
        response = await self.request(body, timeout_ms)
        assert response.status_code == 200, (body, response.status_code, response.text)
        result: JsonObject = response.json()
        check_response(result)
        self.pos = result["pos"]
        self.responses.append(result)
        return result


def _is_uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _optional(room: JsonObject, key: str, kind: type | tuple[type, ...]) -> None:
    if key in room:
        assert isinstance(room[key], kind), (key, room[key])


def check_response(body: JsonObject) -> None:
    """The top level of ruma's v5 Response: `pos` required, lists with a `count`, rooms, and
    extensions of the types the SDK deserialises."""
    assert isinstance(body.get("pos"), str), body
    for name, result in body.get("lists", {}).items():
        assert _is_uint(result.get("count")), (name, result)
    for room_id, room in body.get("rooms", {}).items():
        assert room_id.startswith("!"), room_id
        check_room(room)
    check_extensions(body.get("extensions", {}))


def check_room(room: JsonObject) -> None:
    """One room as ruma's `response::Room` reads it (pre-merge names: `invite_state`, the
    unread counts flattened into the room)."""
    _optional(room, "name", str)
    if "avatar" in room:  # JsOption: a string, or null when it was removed
        assert room["avatar"] is None or isinstance(room["avatar"], str), room["avatar"]
    for key in ("initial", "is_dm", "limited"):
        _optional(room, key, bool)
    _optional(room, "prev_batch", str)
    for key in ("timeline", "required_state", "invite_state"):
        _optional(room, key, list)
    for key in (
        "joined_count",
        "invited_count",
        "num_live",
        "bump_stamp",
        "notification_count",
        "highlight_count",
    ):
        if key in room:
            assert _is_uint(room[key]), (key, room[key])
    for event in room.get("timeline", []):
        assert {"type", "sender", "event_id", "origin_server_ts"} <= event.keys(), event
    for event in room.get("required_state", []):
        assert {"type", "state_key"} <= event.keys(), event
    for hero in room.get("heroes", []):
        assert isinstance(hero.get("user_id"), str), hero
        _optional(hero, "displayname", str)
        _optional(hero, "avatar_url", str)


def check_extensions(extensions: JsonObject) -> None:
    """ruma's `response::Extensions`: to_device needs `next_batch`; the rest are maps/lists."""
    if "to_device" in extensions:
        assert isinstance(extensions["to_device"].get("next_batch"), str), extensions
        _optional(extensions["to_device"], "events", list)
    e2ee = extensions.get("e2ee", {})
    for key in ("changed", "left"):
        _optional(e2ee.get("device_lists", {}), key, list)
    for count in e2ee.get("device_one_time_keys_count", {}).values():
        assert _is_uint(count), e2ee
    _optional(e2ee, "device_unused_fallback_key_types", list)
    _optional(extensions.get("account_data", {}), "global", list)
    _optional(extensions.get("account_data", {}), "rooms", dict)
    for name in ("receipts", "typing"):
        for event in extensions.get(name, {}).get("rooms", {}).values():
            assert isinstance(event.get("content"), dict), (name, event)
