"""A shadow-banned account's own client library notices nothing (Synapse's user admin API docs:
"A shadow-banned users receives successful responses to their client-server API requests, but
the events are not propagated into rooms"), while the other members' clients get none of it.
"""

from __future__ import annotations

from nio import RoomCreateResponse, RoomInviteResponse, RoomMessagesResponse

from tests.clients.nio_fixtures import NioFactory, log_in, nio_request, send_text, sync
from tests.clients.server import BastionServer


async def test_nio_gets_success_for_what_reaches_no_one(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    for name in ("root", "mallory", "bob", "carol"):
        bastion_server.create_user(name, admin=name == "root")
    root, mallory, bob, carol = (nio_client(n) for n in ("root", "mallory", "bob", "carol"))
    for client in (root, mallory, bob, carol):
        await log_in(client, "nio")
    created = await bob.room_create(invite=[mallory.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room = created.room_id
    await mallory.join(room)
    heard = await send_text(mallory, room, "before the ban")
    await sync(bob, timeout=0)
    await sync(carol, timeout=0)

    status, body = await nio_request(
        root, "POST", f"/_synapse/admin/v1/users/{mallory.user_id}/shadow_ban", {}
    )
    assert (status, body) == (200, {})

    dropped = await send_text(mallory, room, "abuse")  # a RoomSendResponse, as for anyone
    invited = await mallory.room_invite(room, carol.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    bobs = await send_text(bob, room, "bob speaks")

    bob_sync = await sync(bob)  # woken by bob's own message, not by mallory's
    seen = [e.event_id for e in bob_sync.rooms.join[room].timeline.events]
    assert seen == [bobs]
    assert room not in (await sync(carol, timeout=0)).rooms.invite
    history = await bob.room_messages(room, start="", limit=20)
    assert isinstance(history, RoomMessagesResponse), history
    ids = [e.event_id for e in history.chunk]
    assert heard in ids
    assert dropped not in ids
