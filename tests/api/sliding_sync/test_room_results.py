"""Room results of simplified sliding sync (MSC4186 "Room results", RoomResult): the fields of a
room, required_state forms, timeline windows. Built as the connection builds them
(room_harness.py); each test quotes the rule it holds."""

from __future__ import annotations

import secrets

from bastion.store.sql.memberships import SqlMembershipStore
from tests.api.sliding_sync.room_harness import (
    ROOM_LIST_STATE,
    RoomSession,
    bodies,
    config,
    state_keys,
)
from tests.conftest import Homeserver, UserClient

MEMBER = "m.room.member"


async def set_state(
    user: UserClient, room_id: str, event_type: str, content: dict, key: str = ""
) -> None:
    resp = await user.put(f"/rooms/{room_id}/state/{event_type}/{key}", json=content)
    assert resp.status_code == 200, resp.text


async def two_users(
    hs: Homeserver, *, name: str | None = None
) -> tuple[UserClient, UserClient, str]:
    """Alice's room (named `name`), Bob joined."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    body = {"preset": "private_chat", "invite": [bob.user_id]}
    if name is not None:
        body["name"] = name
    room_id = await alice.create_room(**body)
    await bob.join(room_id)
    return alice, bob, room_id


async def test_initial_room_has_every_field(hs: Homeserver) -> None:
    """Spec: "`initial`: Flag which is set when this is the first time the server is sending this
    data on this connection"; `name`, `joined_count`, `invited_count`, `bump_stamp`, `timeline`
    ("The last event in the list is the most recent"), `prev_batch`, `num_live`."""
    alice, bob, room_id = await two_users(hs, name="Lunch")
    await bob.send_text(room_id, "first")
    await alice.send_text(room_id, "second")
    payload = await RoomSession(hs, alice).payload(room_id, config(2, *ROOM_LIST_STATE))
    assert payload["initial"] is True
    assert payload["membership"] == "join"
    assert payload["name"] == "Lunch"
    assert "heroes" not in payload
    assert (payload["joined_count"], payload["invited_count"]) == (2, 0)
    assert payload["is_dm"] is False
    assert bodies(payload) == ["first", "second"]
    assert payload["limited"] is True
    assert payload["num_live"] == 0
    assert payload["bump_stamp"] > 0
    unread = (await alice.sync())["rooms"]["join"][room_id]["unread_notifications"]
    assert payload["notification_count"] == unread["notification_count"]
    assert payload["highlight_count"] == unread["highlight_count"]
    assert ("m.room.name", "") in state_keys(payload)
    assert ("m.room.create", "") in state_keys(payload)


async def test_heroes_only_without_a_name(hs: Homeserver) -> None:
    """Spec: "`heroes`: ... the same users as the `m.heroes` section in /v3/sync ... Heroes are only
    included if the room name is not set." A Hero has `user_id`, `displayname`, `avatar_url`."""
    alice, bob, room_id = await two_users(hs)
    resp = await bob.put(f"/profile/{bob.user_id}/displayname", json={"displayname": "Bobby"})
    assert resp.status_code == 200, resp.text
    payload = await RoomSession(hs, alice).payload(room_id, config(1))
    assert "name" not in payload
    assert payload["heroes"] == [{"user_id": bob.user_id, "displayname": "Bobby"}]
    assert [h["user_id"] for h in payload["heroes"]] == (await alice.sync())["rooms"]["join"][
        room_id
    ]["summary"]["m.heroes"]
    await set_state(alice, room_id, "m.room.name", {"name": "Named now"})
    session = RoomSession(hs, alice)
    assert "heroes" not in await session.payload(room_id, config(1))


async def test_lazy_members_are_sent_once(hs: Homeserver) -> None:
    """Spec: "the server will return the membership events for: All the `senders` of events in
    `timeline`, excluding membership events that were previously returned"."""
    alice, bob, room_id = await two_users(hs)
    await bob.send_text(room_id, "hello")
    session = RoomSession(hs, alice)
    lazy = config(1, (MEMBER, "$LAZY"))
    first = await session.payload(room_id, lazy)
    assert state_keys(first) == {(MEMBER, bob.user_id)}
    await bob.send_text(room_id, "again")
    second = await session.payload(room_id, lazy)
    assert bodies(second) == ["again"]
    assert state_keys(second) == set()
    await alice.send_text(room_id, "me too")
    third = await session.payload(room_id, lazy)
    assert state_keys(third) == {(MEMBER, alice.user_id)}


async def test_lazy_member_sent_again_when_it_changes(hs: Homeserver) -> None:
    """A member event already returned is sent again once it changed ("All membership updates
    since the last sync when `limited` is false")."""
    alice, bob, room_id = await two_users(hs)
    await bob.send_text(room_id, "hello")
    session = RoomSession(hs, alice)
    lazy = config(1, (MEMBER, "$LAZY"))
    await session.payload(room_id, lazy)
    resp = await bob.put(f"/profile/{bob.user_id}/displayname", json={"displayname": "B2"})
    assert resp.status_code == 200, resp.text
    payload = await session.payload(room_id, lazy)
    members = [e for e in payload["required_state"] if e["type"] == MEMBER]
    assert [m["content"].get("displayname") for m in members] == ["B2"]


async def test_me_is_the_requester(hs: Homeserver) -> None:
    """`$ME` as a state key stands for the requester's user ID."""
    alice, bob, room_id = await two_users(hs)
    await bob.send_text(room_id, "hello")
    payload = await RoomSession(hs, alice).payload(room_id, config(1, (MEMBER, "$ME")))
    assert state_keys(payload) == {(MEMBER, alice.user_id)}


async def test_wildcards(hs: Homeserver) -> None:
    """Spec: "If omitted then matches all types" / "all state keys": `*` in the pre-merge pairs;
    a type no room holds matches nothing."""
    alice, bob, room_id = await two_users(hs, name="W")
    every_member = await RoomSession(hs, alice).payload(room_id, config(1, (MEMBER, "*")))
    assert state_keys(every_member) == {(MEMBER, alice.user_id), (MEMBER, bob.user_id)}
    empty_keys = await RoomSession(hs, alice).payload(room_id, config(1, ("*", "")))
    assert ("m.room.name", "") in state_keys(empty_keys)
    assert all(key == "" for _, key in state_keys(empty_keys))
    everything = await RoomSession(hs, alice).payload(room_id, config(1, ("*", "*")))
    assert {(MEMBER, bob.user_id), ("m.room.create", "")} <= state_keys(everything)
    unknown = await RoomSession(hs, alice).payload(room_id, config(1, ("org.example.none", "*")))
    assert "required_state" not in unknown


async def test_only_changed_state_is_sent(hs: Homeserver) -> None:
    """Spec: "The data returned in the response is only the data that has changed, e.g. if the room
    name hasn't changed then the `name` field will only be sent down the first sync"."""
    alice, _, room_id = await two_users(hs, name="Before")
    session = RoomSession(hs, alice)
    selectors = config(1, ("m.room.name", ""), ("m.room.topic", ""))
    await session.payload(room_id, selectors)
    await alice.send_text(room_id, "no state change")
    plain = await session.payload(room_id, selectors)
    assert "name" not in plain
    assert "required_state" not in plain
    await set_state(alice, room_id, "m.room.name", {"name": "After"})
    renamed = await session.payload(room_id, selectors)
    assert renamed["name"] == "After"
    assert state_keys(renamed) == {("m.room.name", "")}
    assert "initial" not in renamed


async def test_quiet_room_is_not_news(hs: Homeserver) -> None:
    """Spec: "A room is returned in the response if ... either there is new data to return, or the
    room has not previously been sent to the client"."""
    alice, _, room_id = await two_users(hs)
    session = RoomSession(hs, alice)
    await session.payload(room_id, config(1, *ROOM_LIST_STATE))
    other = await alice.create_room()  # activity elsewhere moves the stream on
    await alice.send_text(other, "elsewhere")
    result = await session.build(room_id, config(1, *ROOM_LIST_STATE))
    assert result is not None
    assert result.news is False
    assert result.payload == {}


async def test_required_state_expansion_sends_only_the_newly_matched(hs: Homeserver) -> None:
    """Spec: "If a room has an expanded `required_state` then the server checks if the room has any
    state that matches the new, but not the old, `required_state`. If so then that state is
    included in the response.\""""
    alice, _, room_id = await two_users(hs, name="N")
    await set_state(alice, room_id, "m.room.topic", {"topic": "T"})
    session = RoomSession(hs, alice)
    await session.payload(room_id, config(1, ("m.room.name", "")))
    grown = await session.payload(room_id, config(1, ("m.room.name", ""), ("m.room.topic", "")))
    assert state_keys(grown) == {("m.room.topic", "")}
    assert "timeline" not in grown or grown["timeline"] == []


async def test_timeline_limit_increase_resends_older_events(hs: Homeserver) -> None:
    """Spec: "if the `timeline_limit` has increased ... the server SHOULD send down the latest `N`
    events even if *some* of the events have previously been sent ... it MUST set the
    `expanded_timeline` to `true`"; the pre-merge name is `unstable_expanded_timeline`."""
    alice, _, room_id = await two_users(hs)
    for body in ("A", "B", "C", "D"):
        await alice.send_text(room_id, body)
    session = RoomSession(hs, alice)
    first = await session.payload(room_id, config(1))
    assert bodies(first) == ["D"]
    grown = await session.payload(room_id, config(4))
    assert bodies(grown) == ["A", "B", "C", "D"]
    assert grown["expanded_timeline"] is True
    assert grown["unstable_expanded_timeline"] is True
    assert grown["num_live"] == 0


async def test_num_live_counts_events_since_the_last_response(hs: Homeserver) -> None:
    """Spec: "`num_live`: The number of timeline events which have "just occurred" and are not
    historical, i.e. that have happened since the previous sync request.\""""
    alice, bob, room_id = await two_users(hs)
    await alice.send_text(room_id, "old")
    session = RoomSession(hs, alice)
    await session.payload(room_id, config(5))
    await bob.send_text(room_id, "new 1")
    await bob.send_text(room_id, "new 2")
    payload = await session.payload(room_id, config(5))
    assert bodies(payload) == ["new 1", "new 2"]
    assert payload["num_live"] == 2
    assert payload["limited"] is False


async def test_limited_and_prev_batch_continue_in_messages(hs: Homeserver) -> None:
    """Spec: "`prev_batch`: A token that can be passed as a start parameter to the
    `/rooms/<room_id>/messages` API to retrieve earlier messages"; `limited`: "True if there are
    more events since the previous sync than were included in the `timeline`"."""
    alice, _, room_id = await two_users(hs)
    for i in range(5):
        await alice.send_text(room_id, f"m{i}")
    session = RoomSession(hs, alice)
    await session.payload(room_id, config(1))
    for i in range(5, 9):
        await alice.send_text(room_id, f"m{i}")
    payload = await session.payload(room_id, config(2))
    assert bodies(payload) == ["m7", "m8"]
    assert payload["limited"] is True
    resp = await alice.get(
        f"/rooms/{room_id}/messages",
        params={"from": payload["prev_batch"], "dir": "b", "limit": "3"},
    )
    assert resp.status_code == 200, resp.text
    older = [e["content"]["body"] for e in resp.json()["chunk"]]
    assert older == ["m6", "m5", "m4"]


async def test_bump_stamp_moves_only_for_proper_activity(hs: Homeserver) -> None:
    """Spec: "`bump_stamp`: ... the last "proper" activity in the room ... `m.room.create`,
    `m.room.message`, `m.room.encrypted`, `m.sticker`, `m.call.invite`, `m.poll.start`,
    `m.beacon_info`"."""
    alice, _, room_id = await two_users(hs)
    event_id = await alice.send_text(room_id, "hi")
    session = RoomSession(hs, alice)
    stamp = (await session.payload(room_id, config(1)))["bump_stamp"]
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "x"}}
    resp = await alice.put(
        f"/rooms/{room_id}/send/m.reaction/{secrets.token_hex(4)}", json=reaction
    )
    assert resp.status_code == 200, resp.text
    await set_state(alice, room_id, "m.room.topic", {"topic": "not a bump"})
    quiet = await session.payload(room_id, config(1))
    assert quiet["bump_stamp"] == stamp
    await alice.send_text(room_id, "bump")
    bumped = await session.payload(room_id, config(1))
    assert bumped["bump_stamp"] > stamp
    runtime = hs.runtime
    stamps = await runtime.services.room_results.bump_stamps(
        alice.user_id, [room_id], session.upto()
    )
    assert stamps == {room_id: bumped["bump_stamp"]}


async def test_quiet_rooms_cost_no_query_of_their_own(hs: Homeserver) -> None:
    """Element X asks for every room it has, each response: rooms without news since they were
    sent are answered from facts read once for all of them (a fixed number of queries)."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"r{i}") for i in range(12)]
    session = RoomSession(hs, alice)
    selectors = config(1, *ROOM_LIST_STATE)
    for room_id in rooms:
        await session.payload(room_id, selectors)
    await alice.send_text(rooms[3], "news")
    db, upto = hs.runtime.db, session.upto()
    records = {
        r.room_id: r for r in await SqlMembershipStore().rooms_of_user(db, alice.user_id, ["join"])
    }
    before = db.query_count
    results = [
        await session.build(room_id, selectors, upto=upto, membership=records[room_id])
        for room_id in rooms
    ]
    spent = db.query_count - before
    assert [r.news for r in results if r is not None].count(True) == 1
    assert spent <= 8, spent  # the room with news (about 5), the positions (2), m.direct (1)
