"""Ignoring users: m.ignored_user_list hides their messages and invites on every read path."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import bodies, timeline
from tests.conftest import Homeserver, UserClient, errcode

IGNORED = "m.ignored_user_list"


async def ignore(user: UserClient, *user_ids: str) -> None:
    content: dict[str, Any] = {"ignored_users": {u: {} for u in user_ids}}
    resp = await user.put(f"/user/{user.user_id}/account_data/{IGNORED}", json=content)
    assert resp.status_code == 200, resp.text


async def three_in_a_room(hs: Homeserver) -> tuple[UserClient, UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await carol.create_room(preset="public_chat")
    await alice.join(room_id)
    await bob.join(room_id)
    return alice, bob, carol, room_id


def senders(events: list[dict[str, Any]]) -> set[str]:
    return {e["sender"] for e in events}


async def test_ignored_users_messages_are_hidden_but_their_state_is_not(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await three_in_a_room(hs)
    earlier = await bob.send_text(room_id, "before the ignore")
    token = (await alice.sync())["next_batch"]
    await ignore(alice, bob.user_id)

    await bob.send_text(room_id, "spam")
    kept = await carol.send_text(room_id, "hello")
    rename = {"membership": "join", "displayname": "Bobby"}
    resp = await bob.put(f"/rooms/{room_id}/state/m.room.member/{bob.user_id}", json=rename)
    assert resp.status_code == 200

    # Incremental sync: carol's message and bob's state event, not bob's message.
    events = timeline(await alice.sync(since=token), room_id)
    assert bodies(events) == ["hello"]
    assert [e["type"] for e in events if e["sender"] == bob.user_id] == ["m.room.member"]
    # An initial sync, /messages and /context leave out every message of bob's, older ones too.
    initial = timeline(await alice.sync(), room_id)
    assert "spam" not in bodies(initial)
    assert "before the ignore" not in bodies(initial)
    page = (await alice.get(f"/rooms/{room_id}/messages", params={"dir": "b"})).json()
    assert bodies(page["chunk"]) == ["hello"]
    assert "m.room.member" in {e["type"] for e in page["chunk"] if e["sender"] == bob.user_id}
    context = (await alice.get(f"/rooms/{room_id}/context/{kept}")).json()
    around = context["events_before"] + context["events_after"]
    assert not [e for e in around if e["sender"] == bob.user_id and "state_key" not in e]
    # Bob's messages cannot be fetched one by one either.
    assert errcode(await alice.get(f"/rooms/{room_id}/event/{earlier}")) == (404, "M_NOT_FOUND")
    assert errcode(await alice.get(f"/rooms/{room_id}/context/{earlier}")) == (404, "M_NOT_FOUND")
    # Search does not find them.
    found = await alice.post(
        "/search", json={"search_categories": {"room_events": {"search_term": "spam"}}}
    )
    assert found.json()["search_categories"]["room_events"]["results"] == []

    # Carol, who ignores nobody, sees everything.
    carol_page = (await carol.get(f"/rooms/{room_id}/messages", params={"dir": "b"})).json()
    assert {"spam", "hello", "before the ignore"} <= set(bodies(carol_page["chunk"]))


async def test_unignoring_shows_new_messages_again(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await three_in_a_room(hs)
    await ignore(alice, bob.user_id)
    await bob.send_text(room_id, "while ignored")
    token = (await alice.sync())["next_batch"]
    await ignore(alice)  # an empty list
    await bob.send_text(room_id, "after")

    synced = await alice.sync(since=token)
    assert bodies(timeline(synced, room_id)) == ["after"]
    assert synced["account_data"]["events"] == [{"type": IGNORED, "content": {"ignored_users": {}}}]


async def test_invites_from_ignored_users_are_not_shown(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    await ignore(alice, bob.user_id)
    token = (await alice.sync())["next_batch"]

    from_bob = await bob.create_room(invite=[alice.user_id], name="Bob's room")
    from_carol = await carol.create_room(invite=[alice.user_id], name="Carol's room")

    incremental = await alice.sync(since=token)
    assert set(incremental["rooms"]["invite"]) == {from_carol}
    assert set((await alice.sync())["rooms"]["invite"]) == {from_carol}
    # Bob's invite still exists: once he is no longer ignored it shows up in a fresh sync.
    await ignore(alice)
    assert set((await alice.sync())["rooms"]["invite"]) == {from_bob, from_carol}


async def test_invalid_lists_are_refused(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    path = f"/user/{alice.user_id}/account_data/{IGNORED}"

    resp = await alice.put(path, json={"ignored_users": {alice.user_id: {}}})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.put(path, json={"ignored_users": {bob.user_id: {}, alice.user_id: {}}})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert errcode(await alice.put(path, json={"ignored_users": [bob.user_id]})) == (
        400,
        "M_BAD_JSON",
    )
    assert errcode(await alice.put(path, json={})) == (400, "M_BAD_JSON")
    resp = await alice.put(path, json={"ignored_users": {"bob": {}}})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.put(path, json={"ignored_users": {bob.user_id: True}})
    assert errcode(resp) == (400, "M_BAD_JSON")
    assert errcode(await alice.get(path)) == (404, "M_NOT_FOUND")  # nothing was stored
    # Someone else's list can be neither read nor written.
    assert errcode(await bob.put(path, json={"ignored_users": {}})) == (403, "M_FORBIDDEN")
    await ignore(alice, bob.user_id)
    assert errcode(await bob.get(path)) == (403, "M_FORBIDDEN")
    assert (await alice.get(path)).json() == {"ignored_users": {bob.user_id: {}}}


async def test_ignoring_adds_no_query_to_incremental_sync(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await three_in_a_room(hs)
    await ignore(alice, bob.user_id)

    async def queries(user: UserClient) -> int:
        token = (await user.sync())["next_batch"]
        await carol.send_text(room_id, "ping")
        before = hs.runtime.db.query_count
        assert bodies(timeline(await user.sync(since=token), room_id)) == ["ping"]
        return hs.runtime.db.query_count - before

    assert await queries(alice) == await queries(bob)


def ephemeral_of(sync: dict[str, Any], room_id: str, event_type: str) -> list[dict[str, Any]]:
    room = sync["rooms"]["join"].get(room_id)
    events = room["ephemeral"]["events"] if room else []
    return [e["content"] for e in events if e["type"] == event_type]


async def test_ignored_users_typing_and_receipts_are_hidden(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await three_in_a_room(hs)
    message = await carol.send_text(room_id, "hello")
    await ignore(alice, bob.user_id)
    resp = await bob.put(f"/rooms/{room_id}/typing/{bob.user_id}", json={"typing": True})
    assert resp.status_code == 200
    await carol.put(f"/rooms/{room_id}/typing/{carol.user_id}", json={"typing": True})
    assert (
        await bob.post(f"/rooms/{room_id}/receipt/m.read/{message}", json={})
    ).status_code == 200

    alice_sync, carol_sync = await alice.sync(), await carol.sync()
    assert ephemeral_of(alice_sync, room_id, "m.typing") == [{"user_ids": [carol.user_id]}]
    assert sorted(ephemeral_of(carol_sync, room_id, "m.typing")[0]["user_ids"]) == sorted(
        [bob.user_id, carol.user_id]
    )
    alice_readers = {
        user for c in ephemeral_of(alice_sync, room_id, "m.receipt")
        for user in c.get(message, {}).get("m.read", {})
    }  # fmt: skip
    carol_readers = {
        user for c in ephemeral_of(carol_sync, room_id, "m.receipt")
        for user in c.get(message, {}).get("m.read", {})
    }  # fmt: skip
    assert bob.user_id not in alice_readers
    assert bob.user_id in carol_readers
