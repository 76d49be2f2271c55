"""An encrypted conversation where the receiver's keys come over Simplified Sliding Sync (MSC4186).

alice is an ordinary matrix-nio client on /v3/sync. bob's nio does his crypto (key upload, key
query, key claim, Olm and Megolm) but never calls /v3/sync: like Element X, he runs two
sliding-sync connections, `encryption` (the `to_device` and `e2ee` extensions only, MSC3885 and
MSC3884) and `room-list` (the `all_rooms` list plus a subscription to the open room), and each
round's answers are handed to nio's own sync processing as the /v3/sync response they stand for
(`to_device.events` → to_device, `e2ee` → device_lists and one-time key counts, each room's
`required_state` and `timeline` → a joined room). So nio decrypts the Olm-wrapped room key and
then the Megolm message exactly as it would from /v3/sync, and the test asserts the plaintext.

Then alice adds a device: bob learns it from `device_lists.changed` in the e2ee extension, nio
queries it, and bob's encrypted reply reaches alice. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    RoomCreateResponse,
    RoomKeyEvent,
    RoomMessageText,
    RoomVisibility,
    SyncResponse,
)

from bastion.app import Runtime
from bastion.services.principal import Operator
from tests.clients.element_x import (
    ENCRYPTION_CONN,
    ROOM_LIST_CONN,
    SUBSCRIPTION_REQUIRED_STATE,
    Connection,
    encryption_body,
    room_list_body,
)
from tests.clients.server import PASSWORD, BastionServer
from tests.clients.sliding_sync_server import seed
from tests.clients.test_nio_e2ee import (
    ENCRYPTION_STATE,
    assert_stored_encrypted,
    housekeeping,
    knows_device,
    log_in,
    raw_event,
    receive_decrypted,
    send_encrypted,
    sync_until,
    upload_keys,
)

JsonObject = dict[str, Any]
E2eeFactory = Callable[[str], AsyncClient]
OPERATOR = Operator("test")
SECRET = "patient in bed 4: allergic to penicillin"
REPLY = "noted, chart updated"


@pytest.fixture
async def e2ee_server(ss_home: BastionServer) -> BastionServer:
    """`bastion serve` on the test's database, with the accounts alice and bob."""

    async def accounts(runtime: Runtime) -> None:
        for localpart in ("alice", "bob"):
            await runtime.services.accounts.create_user(
                OPERATOR, localpart, PASSWORD, is_admin=False
            )

    await seed(ss_home, accounts)
    ss_home.start()
    return ss_home


@pytest.fixture
async def e2ee_client(e2ee_server: BastionServer, tmp_path: Path) -> AsyncIterator[E2eeFactory]:
    """Encrypting nio clients, each with a crypto store of its own (as in test_nio_e2ee)."""
    clients: list[AsyncClient] = []

    def make(user: str) -> AsyncClient:
        store = tmp_path / "nio-stores" / f"{user}-{len(clients)}"
        store.mkdir(parents=True)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=True,
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=10,
        )
        client = AsyncClient(e2ee_server.base_url, user, store_path=str(store), config=config)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


class SlidingSyncForNio:
    """bob's two Element X connections, each round fed to nio as the /v3/sync it stands for."""

    def __init__(self, http: httpx.AsyncClient, client: AsyncClient, room_id: str) -> None:
        self.client = client
        self.encryption = Connection(http, client.access_token, ENCRYPTION_CONN)
        self.room_list = Connection(http, client.access_token, ROOM_LIST_CONN)
        self.room_id = room_id  # the room bob has open: a subscription, as Element X makes
        self.to_device_since: str | None = None

    def room_list_request(self) -> JsonObject:
        body = room_list_body(19)
        body["room_subscriptions"] = {
            self.room_id: {"required_state": SUBSCRIPTION_REQUIRED_STATE, "timeline_limit": 20}
        }
        return body

    async def round(self) -> tuple[JsonObject, JsonObject, SyncResponse]:
        """One request on each connection (`timeout=0`), then nio processes them; returns the
        raw `extensions` of `encryption`, the raw `rooms` of `room-list`, and what nio made."""
        encrypted = await self.encryption.sync(encryption_body(self.to_device_since))
        extensions = encrypted.get("extensions", {})
        self.to_device_since = extensions["to_device"]["next_batch"]
        rooms = (await self.room_list.sync(self.room_list_request())).get("rooms", {})
        parsed = SyncResponse.from_dict(
            as_v3_sync(self.encryption, self.room_list, extensions, rooms)
        )
        assert isinstance(parsed, SyncResponse), parsed
        await self.client.receive_response(parsed)
        await housekeeping(self.client)
        return extensions, rooms, parsed


def as_v3_sync(
    encryption: Connection, room_list: Connection, extensions: JsonObject, rooms: JsonObject
) -> JsonObject:
    """The /v3/sync response body that carries the same data (what nio's sync parses)."""
    e2ee = extensions.get("e2ee", {})
    joined: JsonObject = {}
    invited: JsonObject = {}
    for room_id, room in rooms.items():
        if "invite_state" in room:
            invited[room_id] = {"invite_state": {"events": room["invite_state"]}}
            continue
        joined[room_id] = {
            "state": {"events": room.get("required_state", [])},
            "timeline": {
                "events": room.get("timeline", []),
                "limited": room.get("limited", False),
                "prev_batch": room.get("prev_batch"),
            },
            "ephemeral": {"events": []},
            "account_data": {"events": []},
        }
    return {
        # nio skips a response whose next_batch it has seen: both positions make it unique.
        "next_batch": f"{encryption.pos}|{room_list.pos}",
        "to_device": {"events": extensions.get("to_device", {}).get("events", [])},
        "device_lists": e2ee.get("device_lists", {}),
        "device_one_time_keys_count": e2ee.get("device_one_time_keys_count", {}),
        "rooms": {"join": joined, "invite": invited, "leave": {}},
    }


async def test_message_decrypts_with_keys_from_sliding_sync(
    e2ee_server: BastionServer, e2ee_client: E2eeFactory
) -> None:
    """MSC3885: "to-device messages are delivered in the `to_device` extension" with the
    `next_batch`/`since` of /sync v2; MSC3884: the `e2ee` extension returns "device_lists",
    "device_one_time_keys_count" and "device_unused_fallback_key_types" "as per /sync v2". A
    Megolm message whose room key reached bob's device through these extensions decrypts in nio,
    and a device alice adds reaches bob through `device_lists.changed`."""
    alice, bob = e2ee_client("@alice:test.bastion"), e2ee_client("@bob:test.bastion")
    for client in (alice, bob):
        await log_in(client)
    await upload_keys(alice)
    bob_keys = await upload_keys(bob)

    created = await alice.room_create(
        visibility=RoomVisibility.private, invite=[bob.user_id], initial_state=[ENCRYPTION_STATE]
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined

    async with httpx.AsyncClient(
        base_url=e2ee_server.base_url, timeout=60, trust_env=False
    ) as http:
        bob_sync = SlidingSyncForNio(http, bob, room_id)
        extensions, rooms, _ = await bob_sync.round()
        assert extensions["e2ee"]["device_one_time_keys_count"]["signed_curve25519"] == bob_keys
        assert room_id in rooms
        assert bob.rooms[room_id].encrypted  # m.room.encryption came in required_state
        assert knows_device(bob, alice.user_id, alice.device_id)  # nio queried the room's users

        # alice learns bob's device over /v3/sync, claims one of his one-time keys, sends the
        # room key over Olm (to-device) and the message over Megolm.
        await sync_until(
            alice, lambda _: knows_device(alice, bob.user_id, bob.device_id), "bob's device"
        )
        event_id = await send_encrypted(alice, room_id, SECRET)
        assert_stored_encrypted(
            await raw_event(e2ee_server, alice.access_token, room_id, event_id), alice, SECRET
        )

        extensions, rooms, parsed = await bob_sync.round()
        wrapped = extensions["to_device"]["events"]
        assert [(e["type"], e["sender"]) for e in wrapped] == [("m.room.encrypted", alice.user_id)]
        counts = extensions["e2ee"]["device_one_time_keys_count"]
        assert counts["signed_curve25519"] == bob_keys - 1  # alice claimed one
        assert any(isinstance(e, RoomKeyEvent) for e in parsed.to_device_events)
        raw = [e for e in rooms[room_id]["timeline"] if e["event_id"] == event_id]
        assert [e["type"] for e in raw] == ["m.room.encrypted"]
        decrypted = [
            e for e in parsed.rooms.join[room_id].timeline.events if e.event_id == event_id
        ]
        assert len(decrypted) == 1
        assert isinstance(decrypted[0], RoomMessageText), decrypted[0]
        assert decrypted[0].body == SECRET

        # alice signs in on a second device: bob hears of it in device_lists.changed.
        alice_phone = e2ee_client(alice.user_id)
        await log_in(alice_phone)
        await upload_keys(alice_phone)
        extensions, _, _ = await bob_sync.round()
        assert alice.user_id in extensions["e2ee"]["device_lists"]["changed"]
        assert knows_device(bob, alice.user_id, alice_phone.device_id)

        # bob's reply is encrypted for alice's devices with the keys nio learned that way.
        reply_id = await send_encrypted(bob, room_id, REPLY)
        await receive_decrypted(alice, room_id, reply_id, bob, REPLY)
