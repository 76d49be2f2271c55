"""End-to-bridge encryption with mautrix-python, unchanged, against `bastion serve` on SQLite and
PostgreSQL: an AppService built with `ephemeral_events=True, encryption_events=True` (the
bridges' "appservice" encryption mode: no bot login; the ghost's device is made with `PUT
/devices` and its keys uploaded by masquerading) receives, from transactions only, a person's
to-device message to the ghost's device through its `to_device_handler`, the person's
device-list change through its `device_list_handler` and the ghost device's one-time key count
through its `otk_handler` (MSC2409 and MSC3202 under the names Synapse sends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mautrix.api import Method
from mautrix.api import Path as ApiPath
from mautrix.appservice import AppService
from mautrix.appservice.state_store import FileASStateStore
from mautrix.client import Client
from mautrix.types import ASToDeviceEvent, DeviceID, DeviceLists, DeviceOTKCount, UserID

from tests.clients.bridge_registration import install_bridge
from tests.clients.server import PASSWORD, BastionServer
from tests.clients.test_mautrix_bot import until

# mautrix 0.20 hands its event loop to aiohttp's Application, which aiohttp deprecated: the
# library's own warning, not this server's.
pytestmark = pytest.mark.filterwarnings("ignore:loop argument is deprecated:DeprecationWarning")

AS_TOKEN = "e2be-as-token"
HS_TOKEN = "e2be-hs-token"
DEVICE = DeviceID("WABRIDGE")


class Received:
    """What the bridge's encryption handlers were given."""

    def __init__(self) -> None:
        self.to_device: list[ASToDeviceEvent] = []
        self.device_lists: list[DeviceLists] = []
        self.otk_counts: list[dict[UserID, dict[DeviceID, DeviceOTKCount]]] = []


@pytest.fixture
async def bridge(
    ss_home: BastionServer, tmp_path: Path
) -> AsyncIterator[tuple[AppService, Received]]:
    port = install_bridge(ss_home, (AS_TOKEN, HS_TOKEN), **{"org.matrix.msc3202": True})
    ss_home.create_user("human")
    ss_home.start()
    service = AppService(
        server=ss_home.base_url, domain=ss_home.server_name, as_token=AS_TOKEN,
        hs_token=HS_TOKEN, bot_localpart="wabot", id="whatsapp",
        state_store=FileASStateStore(tmp_path / "mx-state.json", binary=False),
        ephemeral_events=True, encryption_events=True,
    )  # fmt: skip
    received = Received()

    async def on_to_device(event: ASToDeviceEvent) -> None:
        received.to_device.append(event)

    async def on_device_lists(lists: DeviceLists) -> None:
        received.device_lists.append(lists)

    async def on_otk_counts(counts: dict[UserID, dict[DeviceID, DeviceOTKCount]]) -> None:
        received.otk_counts.append(counts)

    service.to_device_handler = on_to_device
    service.device_list_handler = on_device_lists
    service.otk_handler = on_otk_counts
    await service.start(host="127.0.0.1", port=port)
    try:
        yield service, received
    finally:
        await service.stop()


async def test_a_mautrix_bridge_gets_its_encryption_data_from_transactions(
    bridge: tuple[AppService, Received], ss_home: BastionServer
) -> None:
    service, received = bridge
    bot = service.intent
    await bot.ensure_registered()
    ghost = bot.user(UserID(f"@_wa_4915112345678:{ss_home.server_name}"))
    await ghost.ensure_registered()
    as_device = {"device_id": DEVICE}
    await ghost.api.request(Method.PUT, ApiPath.v3.devices[DEVICE], {"display_name": "bridge"})
    one_time_keys: dict[str, Any] = {
        f"signed_curve25519:K{n}": {"key": f"key{n}", "signatures": {}} for n in range(3)
    }
    answer = await ghost.api.request(
        Method.POST, ApiPath.v3.keys.upload, {"one_time_keys": one_time_keys},
        query_params=as_device,
    )  # fmt: skip
    assert answer["one_time_key_counts"] == {"signed_curve25519": 3}

    human_id = UserID(ss_home.user_id("human"))
    room_id = await bot.create_room(name="Anna on WhatsApp", invitees=[human_id])
    await ghost.ensure_joined(room_id)
    human = Client(base_url=ss_home.base_url)
    await human.login(identifier="human", password=PASSWORD)
    try:
        await human.join_room(room_id)
        device_keys = {
            "user_id": human_id, "device_id": human.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {f"curve25519:{human.device_id}": "curve", f"ed25519:{human.device_id}": "ed"},
        }  # fmt: skip
        await human.api.request(Method.POST, ApiPath.v3.keys.upload, {"device_keys": device_keys})
        await until(
            lambda: any(human_id in lists.changed for lists in received.device_lists),
            "the person's device-list change",
        )

        messages = {"messages": {ghost.mxid: {DEVICE: {"hello": "ghost device"}}}}
        await human.api.request(
            Method.PUT, ApiPath.v3.sendToDevice["m.bridge.test"]["t1"], messages
        )
        await until(lambda: bool(received.to_device), "the to-device message")
        [event] = received.to_device
        assert (event.sender, event.to_user_id, event.to_device_id) == (
            human_id, ghost.mxid, DEVICE
        )  # fmt: skip
        assert str(event.type) == "m.bridge.test"
        assert event.content.serialize() == {"hello": "ghost device"}
        await until(
            lambda: any(ghost.mxid in counts for counts in received.otk_counts),
            "the ghost device's key count",
        )
        counts = next(c for c in reversed(received.otk_counts) if ghost.mxid in c)
        assert counts[ghost.mxid][DEVICE].signed_curve25519 == 3
    finally:
        await human.api.session.close()
