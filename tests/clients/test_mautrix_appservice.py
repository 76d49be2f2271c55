"""A mautrix-python application service (the library the mautrix bridges are built on),
unchanged, against `bastion serve` on SQLite and PostgreSQL: registered by a YAML file in the
config, it pings itself through the server, registers its bot and a ghost user, opens a portal
room, acts as the ghost (its name; its message, with the time it was sent on the other
network), and receives a person's message, read receipt and typing in transactions. A person
starts a chat with a number the bridge has no ghost for yet: the server asks the bridge, which
creates it. While the bridge's web server is down, messages wait; they arrive once it is back,
once. A user outside its namespace cannot be taken (M_EXCLUSIVE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mautrix.appservice import AppService
from mautrix.appservice.state_store import FileASStateStore
from mautrix.client import Client
from mautrix.errors import MExclusive
from mautrix.types import (
    Event,
    EventType,
    MessageEvent,
    PaginationDirection,
    ReceiptEvent,
    ReceiptType,
    TypingEvent,
    UserID,
)

from tests.clients.bridge_registration import install_bridge
from tests.clients.server import PASSWORD, BastionServer
from tests.clients.test_mautrix_bot import until

# mautrix 0.20 hands its event loop to aiohttp's Application, which aiohttp deprecated: the
# library's own warning, not this server's.
pytestmark = pytest.mark.filterwarnings("ignore:loop argument is deprecated:DeprecationWarning")

AS_TOKEN = "mautrix-as-token"
HS_TOKEN = "mautrix-hs-token"
GHOST_LOCALPART = "_wa_4915112345678"


class Bridge:
    """A mautrix AppService on a loopback port, with the events its transactions brought."""

    def __init__(self, server: BastionServer, port: int, state: Path) -> None:
        self.server, self.port, self.state = server, port, state
        self.received: list[Event] = []
        self.service: AppService | None = None

    async def start(self) -> AppService:
        async def query_user(user_id: UserID) -> dict[str, str]:
            """Someone is starting a chat with a WhatsApp number: its ghost is made now."""
            await service.intent.user(user_id).ensure_registered()
            return {"user_id": user_id}

        service = AppService(
            server=self.server.base_url, domain=self.server.server_name, as_token=AS_TOKEN,
            hs_token=HS_TOKEN, bot_localpart="wabot", id="whatsapp",
            state_store=FileASStateStore(self.state, binary=False), query_user=query_user,
            ephemeral_events=True,  # receipts and typing, as the bridges ask
        )  # fmt: skip

        async def on_event(event: Event) -> None:
            self.received.append(event)

        service.matrix_event_handler(on_event)
        await service.start(host="127.0.0.1", port=self.port)
        self.service = service
        return service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    def messages(self) -> list[str]:
        return [
            str(e.content.body)
            for e in self.received
            if isinstance(e, MessageEvent) and e.type == EventType.ROOM_MESSAGE
        ]


@pytest.fixture
async def bridge(ss_home: BastionServer, tmp_path: Path) -> AsyncIterator[Bridge]:
    port = install_bridge(ss_home, (AS_TOKEN, HS_TOKEN), aliases=True)
    ss_home.create_user("human")
    ss_home.start()
    bridge = Bridge(ss_home, port, tmp_path / "mx-state.json")
    try:
        yield bridge
    finally:
        await bridge.stop()


async def test_a_mautrix_bridge_talks_through_bastion(
    bridge: Bridge, ss_home: BastionServer
) -> None:
    service = await bridge.start()
    assert await service.ping_self("first") > 0  # the server reached the bridge and back
    bot = service.intent
    await bot.ensure_registered()
    ghost = bot.user(UserID(f"@{GHOST_LOCALPART}:{ss_home.server_name}"))
    await ghost.ensure_registered()
    await ghost.set_displayname("Anna (WhatsApp)")
    human_id = UserID(ss_home.user_id("human"))
    room_id = await bot.create_room(name="Anna on WhatsApp", invitees=[human_id])
    await ghost.ensure_joined(room_id)  # the bot invites, the ghost joins
    sent_on_whatsapp = 1_700_000_000_000  # the message's time on the other network
    await ghost.send_text(room_id, "Hallo aus WhatsApp", timestamp=sent_on_whatsapp)

    human = Client(base_url=ss_home.base_url)
    await human.login(identifier="human", password=PASSWORD)
    try:
        await human.join_room(room_id)
        page = await human.get_messages(room_id, PaginationDirection.BACKWARD, limit=20)
        sent = [e for e in page.events if e.type == EventType.ROOM_MESSAGE]
        assert [(e.sender, e.content.body, e.timestamp) for e in sent] == [
            (ghost.mxid, "Hallo aus WhatsApp", sent_on_whatsapp)
        ]
        member = await human.get_state_event(room_id, EventType.ROOM_MEMBER, ghost.mxid)
        assert member.displayname == "Anna (WhatsApp)"

        ghost_message = sent[0].event_id
        await human.set_typing(room_id, timeout=30_000)
        await human.send_receipt(room_id, ghost_message)  # read: WhatsApp shows two blue ticks
        await until(
            lambda: any(
                isinstance(e, ReceiptEvent)
                and e.room_id == room_id
                and human_id in e.content.get(ghost_message, {}).get(ReceiptType.READ, {})
                for e in bridge.received
            ),
            "the read receipt",
        )
        await until(
            lambda: any(
                isinstance(e, TypingEvent)
                and e.room_id == room_id
                and human_id in e.content.user_ids
                for e in bridge.received
            ),
            "the typing notification",
        )
        await human.send_text(room_id, "hello bridge")
        await until(lambda: "hello bridge" in bridge.messages(), "the transaction")
        event = next(e for e in bridge.received if getattr(e.content, "body", "") == "hello bridge")
        assert (event.sender, event.room_id) == (human_id, room_id)

        await bridge.stop()  # the bridge goes down: messages wait for it
        await human.send_text(room_id, "while you were away")
        service = await bridge.start()
        await until(lambda: "while you were away" in bridge.messages(), "the retried transaction")
        assert bridge.messages().count("while you were away") == 1

        # starting a chat with a number the bridge has no ghost for yet: the server asks it
        number = UserID(f"@_wa_4915199999:{ss_home.server_name}")
        dm = await human.create_room(invitees=[number], is_direct=True)
        await until(
            lambda: any(
                e.type == EventType.ROOM_MEMBER and e.state_key == number and e.room_id == dm
                for e in bridge.received
            ),
            "the invite of the new ghost",
        )
        await service.intent.user(number).ensure_joined(dm)
        members = await human.get_joined_members(dm)
        assert set(members) == {human_id, number}

        outsider = service.intent.user(human_id)  # not in the bridge's namespace
        with pytest.raises(MExclusive):  # mautrix registers it first: refused
            await outsider.send_text(room_id, "impersonation")
        page = await human.get_messages(room_id, PaginationDirection.BACKWARD, limit=5)
        assert "impersonation" not in [getattr(e.content, "body", None) for e in page.events]
    finally:
        await human.api.session.close()
