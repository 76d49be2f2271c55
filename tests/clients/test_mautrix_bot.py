"""A mautrix-python bot (the library maubot and the mautrix bridges are built on) against
`bastion serve`, unchanged: it syncs with the library's own loop, joins when invited, answers a
command with a reply and a reaction, edits its answer, uploads and fetches media, reads state
and members, sets its display name, and leaves on command. mautrix parses every response into
its typed structures, so a shape it does not expect fails here. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from mautrix.client import Client
from mautrix.types import (
    EventType,
    Membership,
    MessageEvent,
    MessageType,
    PaginationDirection,
    RoomCreatePreset,
    StateEvent,
    TextMessageEventContent,
)

from tests.clients.server import PASSWORD, BastionServer

WAIT_S = 15.0


async def until(check: Callable[[], Awaitable[Any] | Any], what: str) -> Any:
    """Poll `check` (bounded) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out: {what}")
        await asyncio.sleep(0.05)


async def logged_in(server: BastionServer, localpart: str) -> Client:
    client = Client(base_url=server.base_url)
    await client.login(identifier=localpart, password=PASSWORD)
    return client


@pytest.fixture
async def bot_and_human(ss_home: BastionServer) -> AsyncIterator[tuple[Client, Client]]:
    ss_home.create_user("bot")
    ss_home.create_user("human")
    ss_home.start()
    bot = await logged_in(ss_home, "bot")
    human = await logged_in(ss_home, "human")
    try:
        yield bot, human
    finally:
        bot.stop()
        for client in (bot, human):
            await client.api.session.close()


async def test_a_mautrix_bot_serves_a_room(bot_and_human: tuple[Client, Client]) -> None:
    bot, human = bot_and_human
    answered: dict[str, str] = {}

    async def on_member(event: StateEvent) -> None:
        if event.state_key == bot.mxid and event.content.membership == Membership.INVITE:
            await bot.join_room(event.room_id)

    async def on_message(event: MessageEvent) -> None:
        if event.sender == bot.mxid or not isinstance(event.content, TextMessageEventContent):
            return
        if event.content.body == "!ping":
            reply = TextMessageEventContent(msgtype=MessageType.TEXT, body="pong")
            reply.set_reply(event)
            answered["pong"] = str(await bot.send_message(event.room_id, reply))
            answered["reaction"] = str(await bot.react(event.room_id, event.event_id, "👍"))
            edit = TextMessageEventContent(msgtype=MessageType.TEXT, body="pong!")
            edit.set_edit(answered["pong"])
            answered["edit"] = str(await bot.send_message(event.room_id, edit))
        elif event.content.body == "!leave":
            await bot.leave_room(event.room_id)
            answered["left"] = event.room_id

    bot.add_event_handler(EventType.ROOM_MEMBER, on_member)
    bot.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    bot.start(None)

    room = await human.create_room(
        name="Pharmacy orders", invitees=[bot.mxid], preset=RoomCreatePreset.PRIVATE
    )
    await until(lambda: _joined(human, room, bot.mxid), "the bot joins on the invite")
    ping = await human.send_text(room, "!ping")
    await until(lambda: "edit" in answered, "the bot answers")

    # What the human's client reads back: a reply to the ping, the reaction, the edit.
    pong = await human.get_event(room, answered["pong"])
    assert pong.sender == bot.mxid
    assert pong.content.get_reply_to() == ping
    reaction = await human.get_event(room, answered["reaction"])
    assert reaction.content.relates_to.event_id == ping
    assert reaction.content.relates_to.key == "👍"
    edit = await human.get_event(room, answered["edit"])
    assert edit.content.get_edit() == answered["pong"]
    assert edit.content.body == "pong!"  # mautrix reads an edit as its m.new_content

    await _reads_and_writes(bot, human, room, ping)

    # A command that makes it leave.
    await human.send_text(room, "!leave")
    await until(lambda: answered.get("left") == room, "the bot leaves")
    assert set(await human.get_joined_members(room)) == {human.mxid}


async def _joined(client: Client, room_id: str, user_id: str) -> bool:
    return user_id in await client.get_joined_members(room_id)


async def _reads_and_writes(bot: Client, human: Client, room: str, ping: str) -> None:
    """The bot's own reads and writes, each parsed by mautrix."""
    assert (await bot.whoami()).user_id == bot.mxid
    assert set(await bot.get_joined_members(room)) == {bot.mxid, human.mxid}
    assert (await bot.get_state_event(room, EventType.ROOM_NAME)).name == "Pharmacy orders"
    assert room in await bot.get_joined_rooms()
    mxc = await bot.upload_media(b"stock list", mime_type="text/plain", filename="stock.txt")
    assert await human.download_media(mxc) == b"stock list"
    await bot.set_displayname("Pharmacy bot")
    member = await human.get_state_event(room, EventType.ROOM_MEMBER, bot.mxid)
    assert member.displayname == "Pharmacy bot"  # the profile change reached the room
    await bot.set_typing(room, timeout=3000)
    await bot.send_receipt(room, ping)
    history = await human.get_messages(room, PaginationDirection.BACKWARD, limit=20)
    bodies = [e.content.body for e in history.events if e.type == EventType.ROOM_MESSAGE]
    assert bodies[:3] == ["pong!", "pong", "!ping"]  # newest first
