"""End-to-bridge encryption, both ways, with real client libraries against `bastion serve` on
SQLite and PostgreSQL: a bridge built on mautrix-python in the bridges' "appservice" encryption
mode, and a person on matrix-nio with encryption, in an encrypted portal room.

The bridge never logs in and never syncs. Its ghost's device is made with `PUT /devices/{id}?
user_id=` (MSC4190, spec v1.17), and mautrix's `OlmMachine` is wired to the AppService as
mautrix's own bridge module does in appservice mode (mautrix/bridge/e2ee.py): the transactions'
one-time key counts (MSC3202), device-list changes (MSC3202) and to-device messages (MSC2409)
go straight into the machine. Everything it sends as the ghost's device masquerades with
`?user_id=...&device_id=...`.

* The ghost device's first key count, `{}` in the transaction that carries its join, makes the
  machine upload the device's identity keys and one-time keys (there is no other trigger);
* the person's nio queries the ghost's device, claims one of its one-time keys and sends the
  room key over Olm; the bridge gets it only as a to-device message in a transaction, and
  decrypts the person's message that the next transaction brings;
* the ghost answers through mautrix: the machine knows the person's device from `/keys/query`
  (asked when it decrypted), shares a new Megolm session with it over the Olm session the
  person's key opened (`/sendToDevice`, so no key of the person's is claimed) and encrypts the
  reply, which the person's nio decrypts;
* the claimed one-time key shows in a later count, and the machine, below half its keys,
  uploads one more, which the next count shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mautrix.appservice import AppService
from mautrix.appservice.state_store import FileASStateStore
from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.crypto import StateStore as CryptoStateStore
from mautrix.crypto.store.memory import MemoryCryptoStore
from mautrix.errors import EncryptionError, SessionNotFound
from mautrix.types import (
    ASToDeviceEvent,
    DeviceID,
    EncryptedEvent,
    EncryptionAlgorithm,
    Event,
    EventType,
    MessageEvent,
    RoomEncryptionStateEventContent,
    RoomID,
    TextMessageEventContent,
    UserID,
)

from tests.clients.bridge_registration import install_bridge
from tests.clients.server import BastionServer
from tests.clients.test_mautrix_bot import until
from tests.clients.test_nio_e2ee import (
    ENCRYPTION_STATE,
    MEGOLM,
    E2eeFactory,
    assert_stored_encrypted,
    e2ee_client,
    join_invited,
    knows_device,
    log_in_with_keys,
    raw_event,
    receive_decrypted,
    send_encrypted,
    share_room_key,
)

__all__ = ["e2ee_client"]  # nio's encrypting client factory, on this module's server

# mautrix 0.20 hands its event loop to aiohttp's Application, which aiohttp deprecated, and its
# Megolm decryption reads the sender_key and device_id it deprecated itself: the library's own
# warnings, not this server's.
pytestmark = [
    pytest.mark.filterwarnings("ignore:loop argument is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The sender_key field in Megolm:DeprecationWarning"),
]

AS_TOKEN = "e2be-decrypt-as-token"
HS_TOKEN = "e2be-decrypt-hs-token"
DEVICE = DeviceID("WABRIDGE")
GHOST_LOCALPART = "_wa_4915112345678"


@pytest.fixture
def bridge_port(ss_home: BastionServer) -> int:
    """The bridge, registered with MSC3202 in the not yet started server; its port."""
    return install_bridge(ss_home, (AS_TOKEN, HS_TOKEN), **{"org.matrix.msc3202": True})


@pytest.fixture
def bastion_server(ss_home: BastionServer, bridge_port: int) -> BastionServer:
    """The server nio's `e2ee_client` uses: `ss_home` (either database) with the bridge and the
    person's account."""
    ss_home.create_user("human")
    ss_home.start()
    return ss_home


class PortalState(CryptoStateStore):
    """The bridge's knowledge of its encrypted portals (mautrix's bridges read their portal
    table; PgCryptoStateStore): what the OlmMachine asks about rooms."""

    def __init__(self) -> None:
        self.encryption: dict[RoomID, RoomEncryptionStateEventContent] = {}
        self.members: dict[RoomID, set[UserID]] = {}

    async def is_encrypted(self, room_id: RoomID) -> bool:
        return room_id in self.encryption

    async def get_encryption_info(self, room_id: RoomID) -> RoomEncryptionStateEventContent | None:
        return self.encryption.get(room_id)

    async def find_shared_rooms(self, user_id: UserID) -> list[RoomID]:
        return [room for room, members in self.members.items() if user_id in members]


class Bridge:
    """A mautrix AppService whose ghost's OlmMachine is fed by the transactions only."""

    def __init__(self, service: AppService, machine: OlmMachine, portals: PortalState) -> None:
        self.service, self.machine, self.portals = service, machine, portals
        self.events: list[Event] = []
        self.fed: list[Any] = []  # what the transactions gave the machine, in order
        self.errors: list[BaseException] = []  # mautrix logs and swallows handler errors

    def feed(self, handler: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        async def call(data: Any) -> None:
            self.fed.append(data)
            try:
                await handler(data)
            except Exception as error:
                self.errors.append(error)
                raise

        return call

    async def decrypt(self, event: EncryptedEvent) -> MessageEvent:
        """EncryptionManager.decrypt: the key may come a transaction later than the message."""
        try:
            return await self.machine.decrypt_megolm_event(event)
        except SessionNotFound as missing:
            session_id = missing.session_id
        got = await self.machine.wait_for_session(event.room_id, session_id, timeout=10)
        assert got, f"no room key for {session_id} reached the bridge"
        return await self.machine.decrypt_megolm_event(event)

    async def encrypt(
        self, room_id: RoomID, content: TextMessageEventContent, users: list[UserID]
    ) -> Any:
        """EncryptionManager.encrypt: share a session with `users` when there is none."""
        try:
            return await self.machine.encrypt_megolm_event(room_id, EventType.ROOM_MESSAGE, content)
        except EncryptionError:
            await self.machine.share_group_session(room_id, users)
            return await self.machine.encrypt_megolm_event(room_id, EventType.ROOM_MESSAGE, content)

    def key_counts(self, user_id: UserID) -> list[int]:
        """The device's signed_curve25519 counts, transaction by transaction."""
        return [
            data[user_id][DEVICE].signed_curve25519
            for data in self.fed
            if isinstance(data, dict) and DEVICE in data.get(user_id, {})
        ]

    def to_device(self) -> list[ASToDeviceEvent]:
        return [data for data in self.fed if isinstance(data, ASToDeviceEvent)]


@pytest.fixture
async def bridge(
    bastion_server: BastionServer, bridge_port: int, tmp_path: Path
) -> AsyncIterator[Bridge]:
    home = bastion_server
    service = AppService(
        server=home.base_url, domain=home.server_name, as_token=AS_TOKEN, hs_token=HS_TOKEN,
        bot_localpart="wabot", id="whatsapp",
        state_store=FileASStateStore(tmp_path / "mx-state.json", binary=False),
        ephemeral_events=True, encryption_events=True,
    )  # fmt: skip
    ghost_id = UserID(f"@{GHOST_LOCALPART}:{home.server_name}")
    # The ghost's crypto client: the AS token, masquerading as the ghost (and, once made, its
    # device), as EncryptionManager's client does for the bot.
    crypto_client = Client(base_url=home.base_url, mxid=ghost_id, token=AS_TOKEN)
    portals = PortalState()
    machine = OlmMachine(crypto_client, MemoryCryptoStore(ghost_id, "e2be-test"), portals)
    await machine.load()
    bridge = Bridge(service, machine, portals)
    service.otk_handler = bridge.feed(machine.handle_as_otk_counts)
    service.device_list_handler = bridge.feed(machine.handle_as_device_lists)
    service.to_device_handler = bridge.feed(machine.handle_as_to_device_event)

    async def on_event(event: Event) -> None:
        bridge.events.append(event)

    service.matrix_event_handler(on_event)
    await service.start(host="127.0.0.1", port=bridge_port)
    try:
        yield bridge
    finally:
        await service.stop()
        await crypto_client.api.session.close()


async def test_a_bridge_and_a_person_read_each_others_encrypted_messages(
    bridge: Bridge, bastion_server: BastionServer, e2ee_client: E2eeFactory
) -> None:
    home, machine, service = bastion_server, bridge.machine, bridge.service
    bot = service.intent
    await bot.ensure_registered()
    ghost = bot.user(UserID(f"@{GHOST_LOCALPART}:{home.server_name}"))
    await ghost.ensure_registered()
    # MSC4190 (spec v1.17): PUT /devices/WABRIDGE?user_id=<ghost>; the client then adds
    # ?device_id= to everything it sends.
    await machine.client.create_device_msc4190(DEVICE, "WhatsApp bridge")
    assert not machine.account.shared

    human = e2ee_client("human")
    await log_in_with_keys(human)
    assert human.user_id is not None
    assert human.device_id is not None
    room_id = await bot.create_room(
        name="Anna on WhatsApp", invitees=[human.user_id, ghost.mxid],
        initial_state=[ENCRYPTION_STATE],
    )  # fmt: skip
    bridge.portals.encryption[room_id] = RoomEncryptionStateEventContent(
        algorithm=EncryptionAlgorithm.MEGOLM_V1
    )
    bridge.portals.members[room_id] = {bot.mxid, ghost.mxid, UserID(human.user_id)}
    await ghost.ensure_joined(room_id)

    # The ghost device's count ({}: no keys yet) rides the transaction of its join; on it the
    # machine uploads the device's identity keys and a batch of one-time keys.
    await until(lambda: machine.account.shared, "the ghost device's keys, uploaded on its count")
    assert bridge.key_counts(ghost.mxid)[0] == 0
    assert not bridge.errors, bridge.errors

    await join_invited(human, room_id)  # nio queries the members' keys on its joined sync
    assert knows_device(human, ghost.mxid, DEVICE)
    device = human.device_store[ghost.mxid][DEVICE]
    assert device.ed25519 == machine.account.signing_key
    assert device.curve25519 == machine.account.identity_key

    # The person -> the bridge: the room key reaches the ghost's device only as a to-device
    # message in a transaction (the bridge never syncs).
    await share_room_key(human, room_id, {(ghost.mxid, DEVICE)})
    body = "hello Anna, secretly"
    event_id = await send_encrypted(human, room_id, body)
    assert_stored_encrypted(
        await raw_event(home, human.access_token, room_id, event_id), human, body
    )
    encrypted = await until(
        lambda: next((e for e in bridge.events if e.event_id == event_id), None),
        "the person's encrypted message in a transaction",
    )
    assert isinstance(encrypted, EncryptedEvent), encrypted
    decrypted = await bridge.decrypt(encrypted)
    assert (decrypted.sender, decrypted.type) == (human.user_id, EventType.ROOM_MESSAGE)
    assert decrypted.content.body == body
    [room_key] = [e for e in bridge.to_device() if e.sender == human.user_id]
    assert (room_key.type, room_key.to_user_id, room_key.to_device_id) == (
        EventType.TO_DEVICE_ENCRYPTED, ghost.mxid, DEVICE
    )  # fmt: skip
    assert room_key.content.sender_key == human.olm.account.identity_keys["curve25519"]
    # The person's nio claimed one of the device's one-time keys: a later count says so.
    full = max(bridge.key_counts(ghost.mxid))
    assert full - 1 in bridge.key_counts(ghost.mxid), bridge.key_counts(ghost.mxid)
    assert not bridge.errors, bridge.errors

    # The bridge -> the person: a new session, shared with the person's device (known from the
    # machine's /keys/query) over the Olm session the person opened, encrypts the reply.
    reply = "hi! Anna read it on WhatsApp"
    content = await bridge.encrypt(
        room_id, TextMessageEventContent(msgtype="m.text", body=reply), [UserID(human.user_id)]
    )
    assert content.algorithm == EncryptionAlgorithm.MEGOLM_V1
    assert content.session_id != encrypted.content.session_id
    reply_id = await ghost.send_message_event(room_id, EventType.ROOM_ENCRYPTED, content)
    stored = await raw_event(home, human.access_token, room_id, reply_id)
    assert stored["type"] == "m.room.encrypted"
    assert stored["content"]["algorithm"] == MEGOLM
    assert reply not in str(stored)
    await receive_decrypted(human, room_id, reply_id, ghost.mxid, reply)
    # Below half its keys, the machine uploaded one more; the reply's transaction counts it.
    await until(lambda: bridge.key_counts(ghost.mxid)[-1] == full, "the refilled key count")
    assert not bridge.errors, bridge.errors
