"""Room results by membership (MSC4186 "Invite/knock/rejections", "Currently or previously
joined rooms") and what the read door withholds: history visibility, ignored users, redactions
give the same timelines as /sync."""

from __future__ import annotations

import secrets
from typing import Any

from bastion.store.sql.memberships import SqlMembershipStore
from tests.api.sliding_sync.room_harness import RoomSession, bodies, config
from tests.api.sliding_sync.test_room_results import set_state, two_users
from tests.conftest import Homeserver, UserClient


def sync_bodies(sync: dict[str, Any], room_id: str, section: str = "join") -> list[str]:
    room = sync["rooms"][section].get(room_id, {})
    events = room.get("timeline", {}).get("events", [])
    return [e["content"]["body"] for e in events if "body" in e["content"]]


async def invite(inviter: UserClient, room_id: str, user: UserClient) -> None:
    resp = await inviter.post(f"/rooms/{room_id}/invite", json={"user_id": user.user_id})
    assert resp.status_code == 200, resp.text


async def test_invite_carries_stripped_state(hs: Homeserver) -> None:
    """Spec: "`stripped_state`: Stripped state events (for rooms where the user is invited).
    Same as `rooms.invite.$room_id.invite_state` for invites in `/v3/sync`"."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(name="Invited here")
    await alice.send_text(room_id, "not for bob yet")
    await invite(alice, room_id, bob)
    payload = await RoomSession(hs, bob).payload(room_id, config(5, ("*", "*")))
    invite_state = (await bob.sync())["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert payload["stripped_state"] == invite_state
    assert payload["membership"] == "invite"
    assert "timeline" not in payload
    assert "required_state" not in payload


async def test_invite_then_join_is_sent_as_initial(hs: Homeserver) -> None:
    """Spec: `initial` is set "if the client should replace all room data with what is
    returned": a joined invite replaces the invite's stripped state."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(name="R")
    await invite(alice, room_id, bob)
    session = RoomSession(hs, bob)
    await session.payload(room_id, config(3))
    unchanged = await session.build(room_id, config(3))
    assert unchanged is not None
    assert unchanged.news is False
    await bob.join(room_id)
    joined = await session.payload(room_id, config(3))
    assert joined["initial"] is True
    assert joined["membership"] == "join"
    assert joined["name"] == "R"


async def test_invite_from_ignored_user_is_left_out(hs: Homeserver) -> None:
    """An invite from an ignored user is not shown (client-server-api#ignoring-users), as in
    /sync."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    ignore = {"ignored_users": {alice.user_id: {}}}
    resp = await bob.put(f"/user/{bob.user_id}/account_data/m.ignored_user_list", json=ignore)
    assert resp.status_code == 200, resp.text
    room_id = await alice.create_room()
    await invite(alice, room_id, bob)
    assert await RoomSession(hs, bob).build(room_id, config(1)) is None


async def test_left_room_stops_at_the_leave(hs: Homeserver) -> None:
    """Spec: for rooms the user left, "`bump_stamp` ... represents when the relevant membership
    happened"; nothing after the leave is visible (as /sync's leave section)."""
    alice, bob, room_id = await two_users(hs)
    await alice.send_text(room_id, "before")
    resp = await bob.post(f"/rooms/{room_id}/leave", json={})
    assert resp.status_code == 200, resp.text
    await alice.send_text(room_id, "after")
    await set_state(alice, room_id, "m.room.topic", {"topic": "after the leave"})
    payload = await RoomSession(hs, bob).payload(room_id, config(5, ("*", "*")))
    assert payload["membership"] == "leave"
    assert "after" not in bodies(payload)
    assert payload["timeline"][-1]["type"] == "m.room.member"
    assert payload["timeline"][-1]["content"]["membership"] == "leave"
    leave = await SqlMembershipStore().get_membership(hs.runtime.db, bob.user_id, room_id)
    assert leave is not None
    assert payload["bump_stamp"] == leave.stream_ordering
    assert ("m.room.topic", "") not in {
        (e["type"], e["state_key"]) for e in payload["required_state"]
    }


async def test_history_visibility_holds(hs: Homeserver) -> None:
    """A member does not see events from before they joined in a `joined`-visibility room
    (client-server-api#history-visibility): the same timeline as /sync."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await set_state(alice, room_id, "m.room.history_visibility", {"history_visibility": "joined"})
    await alice.send_text(room_id, "secret")
    await bob.join(room_id)
    await alice.send_text(room_id, "welcome")
    payload = await RoomSession(hs, bob).payload(room_id, config(10))
    assert bodies(payload) == ["welcome"]
    assert bodies(payload) == sync_bodies(await bob.sync(), room_id)


async def test_ignored_users_messages_are_left_out(hs: Homeserver) -> None:
    """Spec: "Servers must not send ... events sent by ignored users"
    (client-server-api#ignoring-users)."""
    alice, bob, room_id = await two_users(hs)
    ignore = {"ignored_users": {bob.user_id: {}}}
    resp = await alice.put(f"/user/{alice.user_id}/account_data/m.ignored_user_list", json=ignore)
    assert resp.status_code == 200, resp.text
    await bob.send_text(room_id, "ignored")
    await alice.send_text(room_id, "mine")
    session = RoomSession(hs, alice)
    payload = await session.payload(room_id, config(5))
    assert "ignored" not in bodies(payload)
    assert bodies(payload) == sync_bodies(await alice.sync(), room_id)
    await bob.send_text(room_id, "still ignored")
    quiet = await session.build(room_id, config(5))
    assert quiet is not None
    assert "still ignored" not in bodies(quiet.payload)


async def test_redacted_events_are_sent_redacted(hs: Homeserver) -> None:
    """A redacted event reaches clients in its redacted form, as /sync sends it (without
    `room_id`: the room is its key, the spec's ClientEventWithoutRoomID)."""
    alice, bob, room_id = await two_users(hs)
    event_id = await bob.send_text(room_id, "oops")
    resp = await bob.put(f"/rooms/{room_id}/redact/{event_id}/{secrets.token_hex(4)}", json={})
    assert resp.status_code == 200, resp.text
    payload = await RoomSession(hs, alice).payload(room_id, config(5))
    redacted = next(e for e in payload["timeline"] if e["event_id"] == event_id)
    assert redacted["content"] == {}
    from_sync = next(
        e
        for e in (await alice.sync())["rooms"]["join"][room_id]["timeline"]["events"]
        if e["event_id"] == event_id
    )
    assert "room_id" not in redacted
    assert redacted == {k: v for k, v in from_sync.items() if k != "room_id"}


async def test_is_dm_follows_m_direct(hs: Homeserver) -> None:
    """Spec: "`is_dm`: ... whether the room is a direct-message room (according to account
    data) ... Must be included in an incremental sync if the DM state changes"."""
    alice, bob, room_id = await two_users(hs)
    session = RoomSession(hs, alice)
    assert (await session.payload(room_id, config(1)))["is_dm"] is False
    direct = {bob.user_id: [room_id]}
    resp = await alice.put(f"/user/{alice.user_id}/account_data/m.direct", json=direct)
    assert resp.status_code == 200, resp.text
    assert (await session.payload(room_id, config(1)))["is_dm"] is True


async def test_rejoin_between_responses_is_sent_as_initial(hs: Homeserver) -> None:
    """Spec: `initial` is set "if the client should replace all room data with what is
    returned": a leave and a join back between two responses replaces the room; a display name
    change (a new member event of the same membership) does not."""
    alice, bob, room_id = await two_users(hs, name="Back")
    session = RoomSession(hs, bob)
    await session.payload(room_id, config(2))
    resp = await bob.put(f"/profile/{bob.user_id}/displayname", json={"displayname": "Robert"})
    assert resp.status_code == 200, resp.text
    renamed = await session.payload(room_id, config(2))
    assert "initial" not in renamed
    resp = await bob.post(f"/rooms/{room_id}/leave", json={})
    assert resp.status_code == 200, resp.text
    await alice.send_text(room_id, "while away")
    await invite(alice, room_id, bob)
    await bob.join(room_id)
    back = await session.payload(room_id, config(2))
    assert back["initial"] is True
    assert back["name"] == "Back"
