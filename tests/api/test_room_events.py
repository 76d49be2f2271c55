"""Send (idempotent), state, redaction, /event, /messages, /context, members, aliases."""

from __future__ import annotations

import asyncio

from tests.api.rooms_helpers import bodies
from tests.conftest import Homeserver, errcode


async def test_send_is_idempotent_per_device_and_txn(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    other_device = await hs.login("alice")
    room_id = await alice.create_room()
    first = await alice.send_text(room_id, "once", txn_id="t1")
    assert await alice.send_text(room_id, "once", txn_id="t1") == first
    assert await other_device.send_text(room_id, "once", txn_id="t1") != first
    chunk = (await alice.get(f"/rooms/{room_id}/messages", params={"limit": 5})).json()["chunk"]
    assert bodies(chunk) == ["once", "once"]
    # Only the sending device sees its transaction ID.
    mine = (await alice.get(f"/rooms/{room_id}/event/{first}")).json()
    theirs = (await other_device.get(f"/rooms/{room_id}/event/{first}")).json()
    assert mine["unsigned"]["transaction_id"] == "t1"
    assert "transaction_id" not in theirs["unsigned"]


async def test_send_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    resp = await alice.put(f"/rooms/{room_id}/send/m.room.message/f", json={"n": 1.5})
    assert errcode(resp) == (400, "M_BAD_JSON")
    resp = await alice.put(f"/rooms/{room_id}/send/m.room.message/big", json={"body": "x" * 70000})
    assert errcode(resp) == (413, "M_TOO_LARGE")
    resp = await alice.put(f"/rooms/{room_id}/send/m.room.message/arr", json=[1])
    assert errcode(resp) == (400, "M_BAD_JSON")


async def test_state_put_get_and_power(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    resp = await alice.put(f"/rooms/{room_id}/state/m.room.name/", json={"name": "Ward 9"})
    event_id = resp.json()["event_id"]
    assert (
        await alice.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "Ward 9"})
    ).json() == {"event_id": event_id}  # unchanged state sends nothing new
    assert (await bob.get(f"/rooms/{room_id}/state/m.room.name")).json() == {"name": "Ward 9"}
    full = (await bob.get(f"/rooms/{room_id}/state/m.room.name", params={"format": "event"})).json()
    assert full["event_id"] == event_id
    assert "prev_content" not in full["unsigned"]  # the room had no name before
    resp = await bob.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "mine"})
    assert errcode(resp) == (403, "M_FORBIDDEN")  # needs level 50
    resp = await bob.put(f"/rooms/{room_id}/state/m.custom/{alice.user_id}", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await bob.get(f"/rooms/{room_id}/state/m.room.topic/")
    assert errcode(resp) == (404, "M_NOT_FOUND")
    types = {e["type"] for e in (await bob.get(f"/rooms/{room_id}/state")).json()}
    assert {"m.room.create", "m.room.power_levels", "m.room.name", "m.room.member"} <= types
    # Raising bob lets him rename; he cannot raise himself above alice's grant.
    power = (await alice.get(f"/rooms/{room_id}/state/m.room.power_levels")).json()
    power["users"][bob.user_id] = 50
    assert (
        await alice.put(f"/rooms/{room_id}/state/m.room.power_levels", json=power)
    ).status_code == 200
    assert (
        await bob.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "B"})
    ).status_code == 200
    power["users"][bob.user_id] = 100
    resp = await bob.put(f"/rooms/{room_id}/state/m.room.power_levels", json=power)
    assert errcode(resp) == (403, "M_FORBIDDEN")
    renamed = (
        await alice.get(f"/rooms/{room_id}/state/m.room.name", params={"format": "event"})
    ).json()
    assert renamed["unsigned"]["prev_content"] == {"name": "Ward 9"}


async def test_redaction(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    mine = await bob.send_text(room_id, "patient data by mistake")
    hers = await alice.send_text(room_id, "alice's message")
    resp = await bob.put(f"/rooms/{room_id}/redact/{hers}/r1", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await bob.put(f"/rooms/{room_id}/redact/$nope/r2", json={})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    redaction = (
        await bob.put(f"/rooms/{room_id}/redact/{mine}/r3", json={"reason": "oops"})
    ).json()
    for reader in (alice, bob):
        event = (await reader.get(f"/rooms/{room_id}/event/{mine}")).json()
        assert event["content"] == {}
        assert event["unsigned"]["redacted_because"]["event_id"] == redaction["event_id"]
    # A moderator (the creator) may redact anyone's message.
    assert (await alice.put(f"/rooms/{room_id}/redact/{hers}/r4", json={})).status_code == 200
    chunk = (await bob.get(f"/rooms/{room_id}/messages", params={"limit": 10})).json()["chunk"]
    assert "patient data by mistake" not in str(chunk)
    redactions = [e for e in chunk if e["type"] == "m.room.redaction"]
    assert {e["redacts"] for e in redactions} == {mine, hers}


async def test_a_short_page_has_end_and_the_next_one_is_empty_without(hs: Homeserver) -> None:
    """spec: "Note that an empty chunk does not necessarily imply that no more events are
    available. Clients should continue to paginate until the end property is omitted"; `end` is
    omitted "if no further events are available". A page shorter than the limit still carries
    `end` (as Synapse's does; mautrix's get_messages needs it), and the page after it is empty
    and has none."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    await alice.send_text(room_id, "only one")
    page = (await alice.get(f"/rooms/{room_id}/messages", params={"dir": "b"})).json()
    assert 0 < len(page["chunk"]) < 10
    assert "end" in page
    after = await alice.get(f"/rooms/{room_id}/messages", params={"dir": "b", "from": page["end"]})
    assert after.json()["chunk"] == []
    assert "end" not in after.json()


async def test_messages_pagination_both_directions(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    sent = [str(i) for i in range(35)]
    for body in sent:
        await alice.send_text(room_id, body)
    seen: list[str] = []
    params = {"dir": "b", "limit": "8"}
    while True:
        page = (await alice.get(f"/rooms/{room_id}/messages", params=params)).json()
        seen += bodies(page["chunk"])
        if "end" not in page:
            break
        params["from"] = page["end"]
    assert seen == sent[::-1]
    forward: list[str] = []
    params = {"dir": "f", "limit": "8"}
    while True:
        page = (await alice.get(f"/rooms/{room_id}/messages", params=params)).json()
        forward += bodies(page["chunk"])
        if "end" not in page:
            break
        params["from"] = page["end"]
    assert forward == sent
    filtered = (
        await alice.get(
            f"/rooms/{room_id}/messages",
            params={"dir": "b", "limit": "50", "filter": '{"types": ["m.room.member"]}'},
        )
    ).json()
    assert {e["type"] for e in filtered["chunk"]} == {"m.room.member"}
    refusals = [
        ({"dir": "x"}, "M_INVALID_PARAM"),
        ({"from": "nonsense"}, "M_INVALID_PARAM"),
        ({"filter": "{bad"}, "M_NOT_JSON"),
        ({"filter": '{"limit": "x"}'}, "M_BAD_JSON"),
        ({"limit": "ten"}, "M_INVALID_PARAM"),
    ]
    for bad, code in refusals:
        resp = await alice.get(f"/rooms/{room_id}/messages", params=bad)
        assert errcode(resp) == (400, code), bad


async def test_context_members_and_timestamps(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    ids = []
    for i in range(6):
        hs.clock.advance(1)
        ids.append(await alice.send_text(room_id, f"m{i}"))
    ctx = (await bob.get(f"/rooms/{room_id}/context/{ids[3]}", params={"limit": "4"})).json()
    assert ctx["event"]["event_id"] == ids[3]
    assert bodies(ctx["events_before"]) == ["m2", "m1"]
    assert bodies(ctx["events_after"]) == ["m4", "m5"]
    assert any(e["type"] == "m.room.create" for e in ctx["state"])
    resp = await bob.get(f"/rooms/{room_id}/context/$missing")
    assert errcode(resp) == (404, "M_NOT_FOUND")

    members = (await bob.get(f"/rooms/{room_id}/members")).json()["chunk"]
    assert {m["state_key"] for m in members} == {alice.user_id, bob.user_id}
    joined_only = (
        await bob.get(f"/rooms/{room_id}/members", params={"not_membership": "join"})
    ).json()
    assert joined_only["chunk"] == []
    ts = (await bob.get(f"/rooms/{room_id}/event/{ids[2]}")).json()["origin_server_ts"]
    found = (
        await bob.get(
            f"/_matrix/client/v1/rooms/{room_id}/timestamp_to_event", params={"ts": ts, "dir": "f"}
        )
    ).json()
    assert found["event_id"] == ids[2]
    resp = await bob.get(
        f"/_matrix/client/v1/rooms/{room_id}/timestamp_to_event", params={"ts": ts * 2, "dir": "f"}
    )
    assert errcode(resp) == (404, "M_NOT_FOUND")


async def test_aliases(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room()
    alias = "%23ward-7:test.bastion"
    assert (
        await alice.put(f"/directory/room/{alias}", json={"room_id": room_id})
    ).status_code == 200
    assert errcode(await alice.put(f"/directory/room/{alias}", json={"room_id": room_id})) == (
        409,
        "M_UNKNOWN",
    )
    resp = await alice.put("/directory/room/%23x:elsewhere.org", json={"room_id": room_id})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await bob.put("/directory/room/%23bobs:test.bastion", json={"room_id": room_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert (await bob.get(f"/directory/room/{alias}")).json()["room_id"] == room_id
    assert (await alice.get(f"/rooms/{room_id}/aliases")).json() == {
        "aliases": ["#ward-7:test.bastion"]
    }
    assert errcode(await bob.get(f"/rooms/{room_id}/aliases")) == (403, "M_FORBIDDEN")
    assert errcode(await bob.delete(f"/directory/room/{alias}")) == (403, "M_FORBIDDEN")
    assert (await alice.delete(f"/directory/room/{alias}")).status_code == 200
    assert errcode(await bob.get(f"/directory/room/{alias}")) == (404, "M_NOT_FOUND")


async def test_alias_resolves_without_a_token(hs: Homeserver) -> None:
    """spec: GET /directory/room/{roomAlias} "Requests that the server resolve a room alias to a
    room ID" and has no security requirement; changing aliases still needs a token."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    path = "/_matrix/client/v3/directory/room/%23lobby:test.bastion"
    assert (await alice.put(path, json={"room_id": room_id})).status_code == 200
    resp = await hs.http.get(path)
    assert (resp.status_code, resp.json()) == (
        200,
        {"room_id": room_id, "servers": ["test.bastion"]},
    )
    assert errcode(await hs.http.get(f"{path}x")) == (404, "M_NOT_FOUND")
    assert errcode(await hs.http.put(path, json={"room_id": room_id})) == (401, "M_MISSING_TOKEN")
    assert errcode(await hs.http.delete(path)) == (401, "M_MISSING_TOKEN")


async def test_concurrent_sends_into_one_room_all_succeed(hs: Homeserver) -> None:
    """Writers to one room queue instead of colliding (on PostgreSQL they used to give up)."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    sent = await asyncio.gather(*(alice.send_text(room_id, f"c{i}") for i in range(40)))
    assert len(set(sent)) == 40
    chunk = (await alice.get(f"/rooms/{room_id}/messages", params={"limit": "50"})).json()["chunk"]
    assert sorted(bodies(chunk)) == sorted(f"c{i}" for i in range(40))
