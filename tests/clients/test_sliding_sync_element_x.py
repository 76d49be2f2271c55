"""An Element X-shaped session over Simplified Sliding Sync (MSC4186), raw HTTP on `bastion serve`.

The requests are what matrix-rust-sdk sends (tests/clients/element_x.py: the pre-merge dialect,
`pos` and `timeout` in the query string, three connections per device) and every response is
checked against the types ruma deserialises. On SQLite and on PostgreSQL.

* `room-list`: alice is in 1,000 rooms, each with one last message sent in a shuffled order. The
  first screen (0..=19, `timeout=0`) is the 20 rooms with the newest last message, newest first
  by `bump_stamp`; the growing ranges (0..=99, 0..=199, ... 0..=999) then bring each other room
  exactly once and no room twice; a message in the oldest room wakes the long-poll, which
  answers with that room only (its new event, the new sender's membership, nothing unchanged);
  after a restart of the server the same `pos` still works.
* `encryption`: to-device messages and the e2ee extension (one-time key counts, fallback key
  types, device list changes), a to-device message never lost when a response is dropped.
* `notifications`: an invite in the `invites` list with its stripped state, and the event being
  notified about in the subscribed room's timeline.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bastion.app import Runtime
from bastion.events.builder import EventDraft
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest
from tests.clients.element_x import (
    ALL_ROOMS,
    DEFAULT_REQUIRED_STATE,
    ENCRYPTION_CONN,
    FIRST_SCREEN,
    NOTIFICATIONS_CONN,
    ROOM_LIST_CONN,
    Connection,
    encryption_body,
    growing_ends,
    notifications_body,
    room_list_body,
)
from tests.clients.server import PASSWORD, BastionServer
from tests.clients.sliding_sync_server import Account, log_in, seed

JsonObject = dict[str, Any]
ROOMS = 1000
LONG_POLL_MS = 20_000  # bound of a long-poll that a send should wake (it returns long before)
SEED_BATCH = 250  # messages per transaction when seeding
OPERATOR = Operator("test")


@dataclass
class World:
    """What was seeded: alice's rooms and the order of their last messages."""

    alice: str = ""
    bob: str = ""
    rooms: list[str] = field(default_factory=list)  # creation order; rooms[0] is shared with bob
    names: dict[str, str] = field(default_factory=dict)
    last_body: dict[str, str] = field(default_factory=dict)
    newest_first: list[str] = field(default_factory=list)  # by the last message


def seeder(rooms: int) -> Callable[[Runtime], Awaitable[World]]:
    """Seed alice (in `rooms` rooms, the first shared with bob) and one last message per room,
    sent in a shuffled order (the shared room's first, so it is the oldest)."""

    async def build(runtime: Runtime) -> World:
        services, world = runtime.services, World()
        world.alice = await services.accounts.create_user(
            OPERATOR, "alice", PASSWORD, is_admin=False
        )
        world.bob = await services.accounts.create_user(OPERATOR, "bob", PASSWORD, is_admin=False)
        alice = Requester(world.alice, "SEED", is_admin=False)
        for i in range(rooms):
            name = f"Ward {i:04d}"
            invite = [world.bob] if i == 0 else []
            request = CreateRoomRequest(preset="private_chat", name=name, invite=invite)
            room_id = await services.rooms.create_room(alice, request)
            world.rooms.append(room_id)
            world.names[room_id] = name
        await services.membership.join(Requester(world.bob, "SEED", is_admin=False), world.rooms[0])
        order = world.rooms[1:]
        random.Random(4186).shuffle(order)
        order.insert(0, world.rooms[0])
        pipeline = services.messages._pipeline  # the pipeline every send goes through
        for start in range(0, len(order), SEED_BATCH):
            batch = []
            for room_id in order[start : start + SEED_BATCH]:
                world.last_body[room_id] = f"handover notes for {world.names[room_id]}"
                content = {"msgtype": "m.text", "body": world.last_body[room_id]}
                batch.append((room_id, EventDraft("m.room.message", world.alice, content)))
            await pipeline.append_batch(batch)
        world.newest_first = order[::-1]
        return world

    return build


async def start(server: BastionServer, rooms: int) -> World:
    world = await seed(server, seeder(rooms))
    server.start()
    return world


def http_client(server: BastionServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, timeout=60, trust_env=False)


def bodies(room: JsonObject) -> list[str]:
    return [event["content"].get("body", "") for event in room.get("timeline", [])]


def member_keys(room: JsonObject) -> set[str]:
    return {e["state_key"] for e in room.get("required_state", []) if e["type"] == "m.room.member"}


def check_first_sight(room_id: str, room: JsonObject, world: World) -> None:
    """A room sent for the first time on the connection, as the room list shows it."""
    assert room.get("initial") is True, room
    assert room.get("name") == world.names[room_id], room
    # timeline_limit 1: the last message only, with more history behind it.
    assert bodies(room) == [world.last_body[room_id]], room
    assert room.get("limited") is True, room
    assert isinstance(room.get("prev_batch"), str), room
    assert isinstance(room.get("bump_stamp"), int), room
    assert room.get("joined_count") == (2 if room_id == world.rooms[0] else 1), room
    assert "invite_state" not in room, room  # a joined room, not an invite
    requested = {event_type for event_type, _ in DEFAULT_REQUIRED_STATE}
    sent = {(e["type"], e["state_key"]) for e in room.get("required_state", [])}
    assert {event_type for event_type, _ in sent} <= requested, sent
    # m.room.create (the room version), the name, and $ME (alice's own membership).
    assert {("m.room.create", ""), ("m.room.name", ""), ("m.room.member", world.alice)} <= sent


async def first_screen(room_list: Connection, alice: Account, world: World) -> JsonObject:
    """The SDK's selective range 0..=19, no long-poll; then the app opens the top room."""
    first = await room_list.sync(room_list_body(FIRST_SCREEN[1]))
    assert first["lists"][ALL_ROOMS]["count"] == ROOMS
    screen: JsonObject = first["rooms"]
    by_recency = sorted(screen, key=lambda r: screen[r]["bump_stamp"], reverse=True)
    assert by_recency == world.newest_first[:20]
    for room_id, room in screen.items():
        check_first_sight(room_id, room, world)

    # Opening a room, the app pages back from `prev_batch`: the history before the last
    # message. "A `pos` token can be used in `/messages`" as a /v3/sync next_batch is.
    top = world.newest_first[0]
    messages = f"/_matrix/client/v3/rooms/{top}/messages?dir=b"
    older = await alice.ok("GET", f"{messages}&limit=50&from={screen[top]['prev_batch']}")
    assert [e["type"] for e in older["chunk"]][-1] == "m.room.create"
    assert world.last_body[top] not in [e["content"].get("body") for e in older["chunk"]]
    at_pos = await alice.ok("GET", f"{messages}&limit=1&from={first['pos']}")
    assert bodies({"timeline": at_pos["chunk"]}) == [world.last_body[top]]
    return screen


async def grow(room_list: Connection, world: World, screen: JsonObject) -> None:
    """The growing mode: 0..=99, 0..=199, ... each brings the rooms new to the range only."""
    sent = Counter(screen.keys())
    previous_end = FIRST_SCREEN[1]
    for end in growing_ends(ROOMS):
        page = await room_list.sync(room_list_body(end))
        assert page["lists"][ALL_ROOMS]["count"] == ROOMS
        rooms = page.get("rooms", {})
        assert set(rooms) == set(world.newest_first[previous_end + 1 : end + 1]), end
        for room_id, room in rooms.items():
            check_first_sight(room_id, room, world)
        sent.update(rooms.keys())
        previous_end = end
    assert set(sent) == set(world.rooms)
    assert max(sent.values()) == 1  # each room sent exactly once


async def woken_by(room_list: Connection, sender: Account, room_id: str, text: str) -> JsonObject:
    """A long-poll on the fully loaded list, and a message that wakes it; the answer."""
    poll = asyncio.create_task(room_list.sync(room_list_body(ROOMS - 1), LONG_POLL_MS))
    path = f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}"
    await sender.ok("PUT", path, {"msgtype": "m.text", "body": text})
    return await poll


async def ephemeral_in_room_list(
    room_list: Connection, bob: Account, room_id: str, event_id: str
) -> None:
    """bob reads alice's room, then types in it: each wakes the room-list connection, whose
    receipts and typing extensions (MSC3960, MSC3961) carry the room's m.receipt / m.typing."""
    rooms = f"/_matrix/client/v3/rooms/{room_id}"
    poll = asyncio.create_task(room_list.sync(room_list_body(ROOMS - 1), LONG_POLL_MS))
    await bob.ok("POST", f"{rooms}/receipt/m.read/{event_id}", {})
    receipt = (await poll)["extensions"]["receipts"]["rooms"][room_id]
    assert receipt["type"] == "m.receipt"
    assert bob.user_id in receipt["content"][event_id]["m.read"]

    poll = asyncio.create_task(room_list.sync(room_list_body(ROOMS - 1), LONG_POLL_MS))
    await bob.ok("PUT", f"{rooms}/typing/{bob.user_id}", {"typing": True, "timeout": 30000})
    typing = (await poll)["extensions"]["typing"]["rooms"][room_id]
    assert typing["type"] == "m.typing"
    assert typing["content"]["user_ids"] == [bob.user_id]


async def test_room_list_first_screen_growing_list_and_live_update(ss_home: BastionServer) -> None:
    """MSC4186 "Lists": "a common list config would be no filters (i.e. all rooms) plus the range
    `[0,19]`, which would cause the server to return the top 20 rooms (by activity)"; a room is
    returned if "The room has either never been sent to the client on that connection before,
    or there have been updates to the room since the last time it was sent"; and "the `name`
    field will only be sent down the first sync with the room in it and not subsequently"."""
    world = await start(ss_home, ROOMS)
    async with http_client(ss_home) as http:
        alice = await log_in(http, "alice", "Element X")
        room_list = Connection(http, alice.token, ROOM_LIST_CONN)
        screen = await first_screen(room_list, alice, world)
        await grow(room_list, world, screen)
        stamps = [room["bump_stamp"] for r in room_list.responses for room in r["rooms"].values()]

        # Fully loaded and nothing new: an immediate answer with no room in it.
        quiet = await room_list.sync(room_list_body(ROOMS - 1))
        assert quiet.get("rooms", {}) == {}

        # A message in the oldest room wakes the long-poll: that room only, only what changed.
        bob = await log_in(http, "bob", "Element X")
        oldest = world.newest_first[-1]
        woken = await woken_by(room_list, bob, oldest, "bed 4 needs a review")
        assert set(woken["rooms"]) == {oldest}
        room = woken["rooms"][oldest]
        assert bodies(room) == ["bed 4 needs a review"]
        assert room.get("num_live") == 1
        assert not room.get("initial", False)
        assert "name" not in room  # unchanged since it was sent
        assert world.bob in member_keys(room)  # $LAZY: the new sender's membership
        assert room["bump_stamp"] > max(stamps)

        # The connection's memory is in the database: the same `pos` after a restart.
        ss_home.restart()
        after = await woken_by(room_list, bob, oldest, "reviewed")
        assert set(after["rooms"]) == {oldest}
        assert bodies(after["rooms"][oldest]) == ["reviewed"]
        assert not after["rooms"][oldest].get("initial", False)
        assert world.bob not in member_keys(after["rooms"][oldest])  # sent once already
        await ephemeral_in_room_list(
            room_list, bob, oldest, after["rooms"][oldest]["timeline"][0]["event_id"]
        )


def fake_device_keys(account: Account) -> JsonObject:
    """Well-formed device keys (the server stores and serves them; it does not verify them)."""
    return {
        "user_id": account.user_id,
        "device_id": account.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"curve25519:{account.device_id}": f"curve-{account.device_id}",
            f"ed25519:{account.device_id}": f"ed-{account.device_id}",
        },
        "signatures": {account.user_id: {f"ed25519:{account.device_id}": "sig"}},
    }


def fake_one_time_keys(count: int) -> JsonObject:
    return {
        f"signed_curve25519:AAAA{i:04d}": {"key": f"otk{i}", "signatures": {}} for i in range(count)
    }


def to_device_events(response: JsonObject) -> list[JsonObject]:
    events: list[JsonObject] = response["extensions"]["to_device"].get("events", [])
    return events


async def test_encryption_connection_delivers_to_device_and_e2ee(ss_home: BastionServer) -> None:
    """MSC3885: to-device messages arrive in `extensions.to_device.events` with a `next_batch`,
    and are only deleted once the client's next request carries that token as `since`; MSC3884:
    the e2ee extension carries `device_one_time_keys_count`, `device_unused_fallback_key_types`
    and `device_lists` as /sync does. Element X's `encryption` connection asks for nothing else
    ("no lists and only `to_device` and `e2ee`", issue 14)."""
    world = await start(ss_home, 1)
    async with http_client(ss_home) as http:
        alice = await log_in(http, "alice", "Element X")
        bob = await log_in(http, "bob", "Element X")
        await alice.ok(
            "POST",
            "/_matrix/client/v3/keys/upload",
            {
                "device_keys": fake_device_keys(alice),
                "one_time_keys": fake_one_time_keys(5),
                "fallback_keys": {"signed_curve25519:AAAAFB": {"key": "fb", "fallback": True}},
            },
        )
        encryption = Connection(http, alice.token, ENCRYPTION_CONN)

        initial = await encryption.sync(encryption_body(None))
        assert "rooms" not in initial or initial["rooms"] == {}  # no lists, no subscriptions
        assert to_device_events(initial) == []
        e2ee = initial["extensions"]["e2ee"]
        assert e2ee["device_one_time_keys_count"]["signed_curve25519"] == 5
        assert e2ee["device_unused_fallback_key_types"] == ["signed_curve25519"]
        since = initial["extensions"]["to_device"]["next_batch"]

        # A to-device message wakes the long-poll.
        before = encryption.pos
        poll = asyncio.create_task(encryption.sync(encryption_body(since), LONG_POLL_MS))
        await bob.ok(
            "PUT",
            "/_matrix/client/v3/sendToDevice/m.bastion.ping/txn1",
            {"messages": {alice.user_id: {alice.device_id: {"ward": "4"}}}},
        )
        delivered = await poll
        events = to_device_events(delivered)
        assert [(e["type"], e["sender"], e["content"]) for e in events] == [
            ("m.bastion.ping", bob.user_id, {"ward": "4"})
        ]

        # The response was lost: the retry (same pos, same since) delivers the message again.
        encryption.pos = before
        retried = await encryption.sync(encryption_body(since))
        assert [e["content"] for e in to_device_events(retried)] == [{"ward": "4"}]

        # Acknowledged by the next request's `since`: gone.
        since = retried["extensions"]["to_device"]["next_batch"]
        acknowledged = await encryption.sync(encryption_body(since))
        assert to_device_events(acknowledged) == []
        since = acknowledged["extensions"]["to_device"]["next_batch"]

        # bob (who shares a room with alice) publishes device keys: a device list change.
        poll = asyncio.create_task(encryption.sync(encryption_body(since), LONG_POLL_MS))
        await bob.ok(
            "POST", "/_matrix/client/v3/keys/upload", {"device_keys": fake_device_keys(bob)}
        )
        changed = await poll
        assert world.bob in changed["extensions"]["e2ee"]["device_lists"]["changed"]
        since = changed["extensions"]["to_device"]["next_batch"]

        # bob claims one of alice's one-time keys: her count goes down.
        claim = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
        await bob.ok("POST", "/_matrix/client/v3/keys/claim", claim)
        counted = await encryption.sync(encryption_body(since))
        assert counted["extensions"]["e2ee"]["device_one_time_keys_count"]["signed_curve25519"] == 4

        # "Servers MUST reject a `pos` that was not issued to the requesting user and device,
        # responding with `M_UNKNOWN_POS`"; so is a `pos` never issued. The app then starts over.
        stolen = Connection(http, bob.token, ENCRYPTION_CONN, pos=encryption.pos)
        for connection in (stolen, Connection(http, alice.token, ENCRYPTION_CONN, pos="s1_x")):
            refused = await connection.request(encryption_body(since))
            assert (refused.status_code, refused.json().get("errcode")) == (400, "M_UNKNOWN_POS")


async def test_connections_of_one_device_long_poll_side_by_side(ss_home: BastionServer) -> None:
    """Element X keeps its `room-list` and `encryption` long-polls open at once on one device.
    MSC4186: "Clients can have multiple connections with the server, so long as each connection
    has a different `conn_id`"; each answers with its own news: a to-device message ends the
    encryption poll only, and the room-list poll answers later with the room that got a message
    (never early and empty before its timeout)."""
    world = await start(ss_home, 1)
    shared = world.rooms[0]
    async with http_client(ss_home) as http:
        alice = await log_in(http, "alice", "Element X")
        bob = await log_in(http, "bob", "Element X")
        room_list = Connection(http, alice.token, ROOM_LIST_CONN)
        encryption = Connection(http, alice.token, ENCRYPTION_CONN)
        await room_list.sync(room_list_body(FIRST_SCREEN[1]))
        since = (await encryption.sync(encryption_body(None)))["extensions"]["to_device"]
        rooms_poll = asyncio.create_task(room_list.sync(room_list_body(19), LONG_POLL_MS))
        keys_poll = asyncio.create_task(
            encryption.sync(encryption_body(since["next_batch"]), LONG_POLL_MS)
        )
        await bob.ok(
            "PUT",
            "/_matrix/client/v3/sendToDevice/m.bastion.ping/side1",
            {"messages": {alice.user_id: {alice.device_id: {"ward": "7"}}}},
        )
        assert [e["content"] for e in to_device_events(await keys_poll)] == [{"ward": "7"}]
        await bob.ok(
            "PUT",
            f"/_matrix/client/v3/rooms/{shared}/send/m.room.message/side2",
            {"msgtype": "m.text", "body": "ward 7 round"},
        )
        woken = await rooms_poll
        assert set(woken["rooms"]) == {shared}
        assert bodies(woken["rooms"][shared]) == ["ward 7 round"]


async def test_notifications_connection_invite_and_subscribed_room(ss_home: BastionServer) -> None:
    """Element X's `notifications` connection (matrix-rust-sdk notification_client.rs): a list of
    invites (`is_invite: true`) and a subscription to the notified room. MSC4186: "A subscription
    is a rule that matches against a specified room ID, i.e. they allow the client to specify
    that a given room should always be returned"; for invites "the client also gets the
    stripped state events" (`invite_state` in the pre-merge dialect). Unknown extensions are
    ignored, never an error (issue 14)."""
    world = await start(ss_home, 1)
    shared = world.rooms[0]
    async with http_client(ss_home) as http:
        alice = await log_in(http, "alice", "Element X")
        bob = await log_in(http, "bob", "Element X")
        invited = (
            await bob.ok("POST", "/_matrix/client/v3/createRoom", {"invite": [world.alice]})
        )["room_id"]
        sent = await bob.ok(
            "PUT",
            f"/_matrix/client/v3/rooms/{shared}/send/m.room.message/n1",
            {"msgtype": "m.text", "body": "@alice theatre at 3"},
        )
        notifications = Connection(http, alice.token, NOTIFICATIONS_CONN)
        body = notifications_body([shared])
        body["extensions"]["io.element.msc4308.thread_subscriptions"] = {"enabled": True}
        result = await notifications.sync(body, timeout_ms=1000)

        assert result["lists"]["invites"]["count"] == 1
        assert set(result["rooms"]) == {invited, shared}
        invite_state = result["rooms"][invited]["invite_state"]
        assert any(
            e["type"] == "m.room.member"
            and e["state_key"] == world.alice
            and e["content"]["membership"] == "invite"
            for e in invite_state
        ), invite_state
        timeline = result["rooms"][shared]["timeline"]
        assert sent["event_id"] in [event["event_id"] for event in timeline]
        assert len(timeline) <= 16
