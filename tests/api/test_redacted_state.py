"""Redacted events, state events above all, read as their redacted form on every read path.

spec (client-server-api, "Redactions"): "Upon receipt of a redaction event, the server must strip
off any keys not in the following list" ... and "The server should add the event causing the
redaction to the `unsigned` property of the redacted event". A moderator who redacts an offensive
room name, a topic or a state event holding a secret must be able to rely on no endpoint
returning the original content afterwards, and on the database no longer holding it in the
events clients read.
"""

from __future__ import annotations

from typing import Any

from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.workers.backfills import RedactionBacklogPrune
from bastion.workers.base import run_to_completion
from tests.conftest import Homeserver, UserClient

SECRET = "the-vault-code-is-4242"


async def _room_with_redacted_secret(hs: Homeserver) -> tuple[UserClient, UserClient, str, str]:
    """alice's room, bob joined, a custom state event and the topic holding SECRET, redacted."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    resp = await alice.put(f"/rooms/{room_id}/state/org.example.vault/", json={"code": SECRET})
    vault_id = resp.json()["event_id"]
    await alice.put(f"/rooms/{room_id}/state/m.room.topic/", json={"topic": f"topic {SECRET}"})
    await alice.send_text(room_id, "after the secret")
    for event_id in (vault_id, await _state_event_id(alice, room_id, "m.room.topic")):
        resp = await alice.put(f"/rooms/{room_id}/redact/{event_id}/r-{event_id[1:9]}", json={})
        assert resp.status_code == 200
    return alice, bob, room_id, vault_id


async def _state_event_id(user: UserClient, room_id: str, event_type: str) -> str:
    state = (await user.get(f"/rooms/{room_id}/state")).json()
    return next(e["event_id"] for e in state if e["type"] == event_type)


def _assert_no_secret(payload: Any) -> None:
    assert SECRET not in str(payload)


async def test_state_endpoints_return_the_redacted_form(hs: Homeserver) -> None:
    alice, bob, room_id, vault_id = await _room_with_redacted_secret(hs)
    for user in (alice, bob):
        resp = await user.get(f"/rooms/{room_id}/state/org.example.vault/")
        assert resp.status_code == 200
        assert resp.json() == {}
        resp = await user.get(f"/rooms/{room_id}/state/m.room.topic/")
        assert resp.json() == {}
        state = (await user.get(f"/rooms/{room_id}/state")).json()
        vault = next(e for e in state if e["type"] == "org.example.vault")
        assert vault["content"] == {}
        assert vault["unsigned"]["redacted_because"]["type"] == "m.room.redaction"
        _assert_no_secret(state)
        _assert_no_secret((await user.get(f"/rooms/{room_id}/event/{vault_id}")).json())


async def test_sync_context_messages_and_members_carry_no_redacted_content(
    hs: Homeserver,
) -> None:
    alice, bob, room_id, vault_id = await _room_with_redacted_secret(hs)
    _assert_no_secret(await bob.sync())
    _assert_no_secret(await bob.sync(full_state="true"))
    # A filter that starts the timeline after the state events: they come in the state section.
    narrow = '{"room": {"timeline": {"limit": 1}}}'
    _assert_no_secret(await bob.sync(filter=narrow))
    _assert_no_secret((await bob.get(f"/rooms/{room_id}/context/{vault_id}")).json())
    _assert_no_secret((await bob.get(f"/rooms/{room_id}/messages", params={"dir": "b"})).json())
    _assert_no_secret((await bob.get(f"/rooms/{room_id}/members")).json())
    # A later topic shows the redacted one, not the original, as its prev_content.
    await alice.put(f"/rooms/{room_id}/state/m.room.topic/", json={"topic": "clean"})
    topic_id = await _state_event_id(bob, room_id, "m.room.topic")
    topic = (await bob.get(f"/rooms/{room_id}/event/{topic_id}")).json()
    assert topic["content"] == {"topic": "clean"}
    assert topic["unsigned"].get("prev_content", {}) == {}
    _assert_no_secret((await bob.get(f"/rooms/{room_id}/messages", params={"dir": "b"})).json())


async def test_stripped_invite_state_shows_a_redacted_name(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(name=f"name {SECRET}")
    name_id = await _state_event_id(alice, room_id, "m.room.name")
    await alice.put(f"/rooms/{room_id}/redact/{name_id}/rn", json={"reason": "offensive"})
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
    invite = (await carol.sync())["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert any(e["type"] == "m.room.name" for e in invite)
    _assert_no_secret(invite)


async def test_a_redacted_member_event_loses_its_display_name(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    resp = await bob.put(
        f"/rooms/{room_id}/state/m.room.member/{bob.user_id}",
        json={"membership": "join", "displayname": f"bob {SECRET}"},
    )
    member_id = resp.json()["event_id"]
    resp = await alice.put(f"/rooms/{room_id}/redact/{member_id}/rm", json={})
    assert resp.status_code == 200
    members = (await alice.get(f"/rooms/{room_id}/members")).json()["chunk"]
    bob_member = next(e for e in members if e["state_key"] == bob.user_id)
    assert bob_member["content"] == {"membership": "join"}
    _assert_no_secret((await alice.get(f"/rooms/{room_id}/joined_members")).json())
    _assert_no_secret(await alice.sync())


async def test_the_events_table_no_longer_holds_the_original(hs: Homeserver) -> None:
    await _room_with_redacted_secret(hs)
    db = hs.runtime.db
    rows = await db.fetch_all("SELECT pdu, prev_content FROM events")
    assert rows
    assert all(SECRET not in str(row["pdu"]) + str(row["prev_content"]) for row in rows)
    # The original is kept aside, out of every client read path, for compliance.
    kept = await db.fetch_all("SELECT pdu FROM redacted_event_originals")
    assert any(SECRET in row["pdu"] for row in kept)


async def test_a_redacted_power_levels_event_governs_in_its_redacted_form(hs: Homeserver) -> None:
    """spec (redactions): the redacted form keeps `users`, so a redacted power-levels event
    still says who may do what; keys it strips (e.g. `notifications`) fall back to defaults."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    levels = (await alice.get(f"/rooms/{room_id}/state/m.room.power_levels/")).json()
    levels["notifications"] = {"room": 100}
    levels["users"][bob.user_id] = 50
    resp = await alice.put(f"/rooms/{room_id}/state/m.room.power_levels/", json=levels)
    power_id = resp.json()["event_id"]
    await alice.put(f"/rooms/{room_id}/redact/{power_id}/rp", json={})
    now = (await bob.get(f"/rooms/{room_id}/state/m.room.power_levels/")).json()
    assert "notifications" not in now
    assert now["users"][bob.user_id] == 50


async def test_events_redacted_before_the_upgrade_are_pruned_at_start_up(hs: Homeserver) -> None:
    """A database from before redactions pruned content: the start-up backlog job prunes each
    redacted event once, keeps the original aside, and is idempotent."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    resp = await alice.put(f"/rooms/{room_id}/state/org.example.vault/", json={"code": SECRET})
    vault_id = resp.json()["event_id"]
    redaction_id = await alice.send_text(room_id, "stands in for an old redaction")
    db = hs.runtime.db
    async with db.transaction() as t:  # what an old server left: marked redacted, not pruned
        await t.execute(
            "UPDATE events SET redacted_by = ? WHERE event_id = ?", redaction_id, vault_id
        )
    events, rooms = SqlEventStore(), SqlRoomStore()
    assert await run_to_completion(RedactionBacklogPrune(db, events, rooms, hs.clock, batch=1)) == 1
    assert await run_to_completion(RedactionBacklogPrune(db, events, rooms, hs.clock)) == 0
    assert (await alice.get(f"/rooms/{room_id}/state/org.example.vault/")).json() == {}
    kept = await db.fetch_all("SELECT event_id, pdu FROM redacted_event_originals")
    assert [(row["event_id"], SECRET in row["pdu"]) for row in kept] == [(vault_id, True)]
