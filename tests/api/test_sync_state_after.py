"""/sync's `use_state_after` and `state_after` (spec v1.16, MSC4222; GET /sync in sync.yaml).

The rules, in the spec's words: "If this is set to `true`, servers MUST respond with the state
between the previous sync and the **end** of the timeline in `state_after` and MUST omit
`state`. If `false`, servers MUST respond with the state between the previous sync and the
**start** of the timeline in `state` and MUST omit `state_after`. [...] By default, this is
`false`." `state_after` is "**Required** if `use_state_after` was set to `true` in the request,
even if it is empty", for joined rooms ("Updates to the state, between the time indicated by the
`since` parameter, and the **end** of the `timeline` (or all state up to the **end** of the
`timeline`, if `since` is not given, or `full_state` is true)") and left ones ("The state updates
for the room up to the **end** of the timeline"). A client reading it "MUST NOT update their
local state with events in `timeline`", so a state event of the timeline is in both sections.
"""

from __future__ import annotations

import json
from typing import Any

from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, UserClient

STATE_AFTER = {"use_state_after": "true"}
MESSAGES_ONLY = json.dumps({"room": {"timeline": {"types": ["m.room.message"]}}})


def room_of(sync: dict[str, Any], room_id: str, section: str = "join") -> dict[str, Any]:
    room: dict[str, Any] = sync["rooms"][section][room_id]
    return room


def after(sync: dict[str, Any], room_id: str, section: str = "join") -> list[dict[str, Any]]:
    """`state_after.events` of a room, checking `state` is left out as the spec requires."""
    room = room_of(sync, room_id, section)
    assert "state" not in room, "MUST omit `state`"
    events: list[dict[str, Any]] = room["state_after"]["events"]
    return events


def ids(events: list[dict[str, Any]]) -> set[str]:
    return {e["event_id"] for e in events}


def keys(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(type, state_key) -> event ID; fails on a key given twice (a state list has one each)."""
    found = {(e["type"], e["state_key"]): e["event_id"] for e in events}
    assert len(found) == len(events), events
    return found


async def set_state(user: UserClient, room_id: str, event_type: str, content: Any) -> str:
    resp = await user.put(f"/rooms/{room_id}/state/{event_type}", json=content)
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def current_state(user: UserClient, room_id: str) -> dict[tuple[str, str], str]:
    resp = await user.get(f"/rooms/{room_id}/state")
    assert resp.status_code == 200, resp.text
    return keys(resp.json())


async def test_initial_sync_sends_the_current_state_in_state_after(hs: Homeserver) -> None:
    """spec: `state_after` holds "all state up to the **end** of the `timeline`, if `since` is
    not given": the room's current state, including the state events the timeline also shows;
    `state` is omitted. Without the parameter (its default is `false`) or with `false`, the
    response has `state` and no `state_after`, as before."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7", topic="beds")
    await alice.send_text(room_id, "hello")
    sync = await alice.sync(**STATE_AFTER)
    state_after = after(sync, room_id)
    assert keys(state_after) == await current_state(alice, room_id)
    in_timeline = {e["event_id"] for e in timeline(sync, room_id) if "state_key" in e}
    assert in_timeline  # the name and topic are recent enough to be in the timeline...
    assert in_timeline <= ids(state_after)  # ...and they are in `state_after` too

    for params in ({}, {"use_state_after": "false"}):
        plain = room_of(await alice.sync(**params), room_id)
        assert "state_after" not in plain, params
        assert not ids(plain["state"]["events"]) & in_timeline  # `state` is the timeline's start

    # "or all state up to the **end** of the `timeline`, if [...] `full_state` is true"
    full = await alice.sync(since=sync["next_batch"], full_state="true", **STATE_AFTER)
    assert keys(after(full, room_id)) == await current_state(alice, room_id)


async def test_incremental_sync_state_after_holds_the_new_state(hs: Homeserver) -> None:
    """spec: "the state between the previous sync and the **end** of the timeline in
    `state_after`": a name change in the timeline is there too (MSC4222's example 1), whereas
    `state`, without the parameter, stays empty (the change is in the timeline). A sync whose
    window changed no state still carries `state_after`: "Required [...] even if it is empty"."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    token = (await alice.sync(**STATE_AFTER))["next_batch"]
    renamed = await set_state(alice, room_id, "m.room.name", {"name": "Ward 8"})
    await alice.send_text(room_id, "after the rename")

    sync = await alice.sync(since=token, **STATE_AFTER)
    assert room_of(sync, room_id)["timeline"]["limited"] is False
    assert renamed in ids(timeline(sync, room_id))
    state_after = after(sync, room_id)
    assert [e["event_id"] for e in state_after] == [renamed]
    assert state_after[0]["content"] == {"name": "Ward 8"}

    plain = room_of(await alice.sync(since=token), room_id)
    assert "state_after" not in plain
    assert plain["state"]["events"] == []
    assert renamed in ids(plain["timeline"]["events"])

    await alice.send_text(room_id, "no state changes here")
    quiet = await alice.sync(since=sync["next_batch"], **STATE_AFTER)
    assert room_of(quiet, room_id)["state_after"] == {"events": []}
    assert "state" not in room_of(quiet, room_id)


async def test_gappy_sync_state_after_holds_changes_before_and_in_the_window(
    hs: Homeserver,
) -> None:
    """A limited timeline: `state_after` holds the state changes made in the gap before the
    window and those in it, each key once with its value at the end of the timeline, and
    nothing the client had at `since`. `state` (without the parameter) stays the delta to the
    timeline's start."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    token = (await alice.sync())["next_batch"]
    topic_in_gap = await set_state(alice, room_id, "m.room.topic", {"topic": "gap"})
    name_in_gap = await set_state(alice, room_id, "m.room.name", {"name": "gap name"})
    for i in range(4):
        await alice.send_text(room_id, f"m{i}")
    topic_in_window = await set_state(alice, room_id, "m.room.topic", {"topic": "window"})
    await alice.send_text(room_id, "last")
    gappy = '{"room": {"timeline": {"limit": 2}}}'

    sync = await alice.sync(since=token, filter=gappy, **STATE_AFTER)
    room = room_of(sync, room_id)
    assert room["timeline"]["limited"] is True
    assert topic_in_window in ids(room["timeline"]["events"])
    assert keys(after(sync, room_id)) == {
        ("m.room.topic", ""): topic_in_window,  # the end of the timeline, not the gap's value
        ("m.room.name", ""): name_in_gap,
    }
    assert topic_in_gap not in ids(after(sync, room_id))

    plain = room_of(await alice.sync(since=token, filter=gappy), room_id)
    assert ids(plain["state"]["events"]) == {topic_in_gap, name_in_gap}


async def test_state_hidden_from_the_timeline_by_a_filter_is_in_state_after(
    hs: Homeserver,
) -> None:
    """A state change the timeline filter keeps out is still state "between the previous sync
    and the **end** of the timeline": it is in `state_after`."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    token = (await alice.sync(filter=MESSAGES_ONLY, **STATE_AFTER))["next_batch"]
    topic = await set_state(alice, room_id, "m.room.topic", {"topic": "filtered out"})
    await alice.send_text(room_id, "visible")
    sync = await alice.sync(since=token, filter=MESSAGES_ONLY, **STATE_AFTER)
    assert [e["type"] for e in timeline(sync, room_id)] == ["m.room.message"]
    assert ids(after(sync, room_id)) == {topic}


async def test_state_after_follows_the_state_filter(hs: Homeserver) -> None:
    """The `room.state` filter narrows `state_after` as it narrows `state`, the timeline's
    state events included."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7", topic="beds")
    only_names = json.dumps({"room": {"state": {"types": ["m.room.name"]}}})
    initial = await alice.sync(filter=only_names, **STATE_AFTER)
    assert {e["type"] for e in after(initial, room_id)} == {"m.room.name"}
    await set_state(alice, room_id, "m.room.topic", {"topic": "not wanted"})
    renamed = await set_state(alice, room_id, "m.room.name", {"name": "Ward 8"})
    sync = await alice.sync(since=initial["next_batch"], filter=only_names, **STATE_AFTER)
    assert ids(after(sync, room_id)) == {renamed}


async def test_left_room_state_after_ends_at_the_leave(hs: Homeserver) -> None:
    """spec (left rooms): `state_after` holds "The state updates for the room up to the **end**
    of the timeline", whose timeline runs "up to the point when the user left": the leave
    itself and the changes before it, nothing set after it, no `state`; for an incremental sync
    and for an initial one with `include_leave`."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Ward 7")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    topic = await set_state(alice, room_id, "m.room.topic", {"topic": "before bob left"})
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    after_leave = await set_state(alice, room_id, "m.room.topic", {"topic": "after"})

    nxt = await bob.sync(since=token, **STATE_AFTER)
    state_after = after(nxt, room_id, "leave")
    leave = keys(state_after)[("m.room.member", bob.user_id)]
    assert ids(state_after) == {topic, leave}
    assert leave in ids(timeline(nxt, room_id, "leave"))
    assert after_leave not in ids(timeline(nxt, room_id, "leave"))

    include_leave = json.dumps({"room": {"include_leave": True}})
    initial = await bob.sync(filter=include_leave, **STATE_AFTER)
    state_after = after(initial, room_id, "leave")
    assert keys(state_after)[("m.room.member", bob.user_id)] == leave
    assert keys(state_after)[("m.room.topic", "")] == topic
    assert keys(state_after)[("m.room.name", "")]

    plain = room_of(await bob.sync(since=token), room_id, "leave")
    assert "state_after" not in plain
    assert plain["state"]["events"] == []  # `state` stops at the timeline's start, as before


async def test_lazy_loaded_members_in_state_after(hs: Homeserver) -> None:
    """spec: with `lazy_load_members`, `state_after` "only return[s] the member events required
    to display the senders of the timeline events" (and the user's own). A member event shown in
    the timeline (a kick) is also there: a client of `state_after` takes no state from the
    timeline, so otherwise it would never learn of it."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    others = [await hs.register_user(f"user{i}") for i in range(4)]
    for other in others:
        await other.join(room_id)
    await others[2].send_text(room_id, "only I speak")
    lazy = '{"room": {"timeline": {"limit": 1}, "state": {"lazy_load_members": true}}}'
    initial = await alice.sync(filter=lazy, **STATE_AFTER)
    members = {k for (t, k) in keys(after(initial, room_id)) if t == "m.room.member"}
    assert members == {others[2].user_id, alice.user_id}
    assert ("m.room.create", "") in keys(after(initial, room_id))
    eager = await alice.sync(filter='{"room": {"timeline": {"limit": 1}}}', **STATE_AFTER)
    assert len({k for (t, k) in keys(after(eager, room_id)) if t == "m.room.member"}) == 5

    resp = await alice.post(f"/rooms/{room_id}/kick", json={"user_id": others[0].user_id})
    assert resp.status_code == 200, resp.text
    await others[3].send_text(room_id, "bye user0")
    lazy_wide = '{"room": {"timeline": {"limit": 5}, "state": {"lazy_load_members": true}}}'
    sync = await alice.sync(since=initial["next_batch"], filter=lazy_wide, **STATE_AFTER)
    state_after = keys(after(sync, room_id))
    kicked = state_after[("m.room.member", others[0].user_id)]
    assert kicked in ids(timeline(sync, room_id))
    # user3 spoke but their member event did not change since the token: nothing to send
    assert set(state_after) == {("m.room.member", others[0].user_id)}


async def test_state_committed_after_the_window_is_not_in_state_after(hs: Homeserver) -> None:
    """`state_after` is the state at the end of the returned timeline, not past it: a state
    event committing while the sync is built (after its `next_batch`) waits for the next
    sync, which then has it."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    in_window = await set_state(alice, room_id, "m.room.topic", {"topic": "in the window"})
    with hs.runtime.positions.allocate():  # an earlier write still in flight
        late = await set_state(alice, room_id, "m.room.topic", {"topic": "committed late"})
        first = await bob.sync(since=token, **STATE_AFTER)
    assert ids(after(first, room_id)) == {in_window}
    second = await bob.sync(since=first["next_batch"], **STATE_AFTER)
    assert ids(after(second, room_id)) == {late}


async def test_use_state_after_costs_nothing_when_no_state_changed(hs: Homeserver) -> None:
    """An incremental window with no state change reads no state for `state_after`: it costs
    the same round trips as the same sync without the parameter."""
    db = hs.runtime.db
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    token = (await alice.sync())["next_batch"]
    await alice.send_text(room_id, "just a message")

    async def cost(**params: str) -> tuple[int, dict[str, Any]]:
        before = db.query_count
        sync = await alice.sync(since=token, **params)
        return db.query_count - before, sync

    await cost()  # warm what a first sync reads once (the caches), for both alike
    await cost(**STATE_AFTER)
    plain_cost, plain = await cost()
    with_param_cost, with_param = await cost(**STATE_AFTER)
    assert with_param_cost == plain_cost
    assert after(with_param, room_id) == []
    assert room_of(plain, room_id)["state"]["events"] == []


async def test_use_state_after_must_be_a_boolean(hs: Homeserver) -> None:
    """The parameter is a boolean, parsed as `full_state` is: `true` or `false`, anything else
    is refused with M_INVALID_PARAM."""
    alice = await hs.register_user("alice")
    for value in ("yes", "1", "True", ""):
        resp = await alice.get("/sync", params={"timeout": "0", "use_state_after": value})
        assert resp.status_code == 400, value
        assert resp.json()["errcode"] == "M_INVALID_PARAM"


async def test_the_unstable_name_is_answered_under_the_unstable_name(hs: Homeserver) -> None:
    """MSC4222's unstable names, which matrix-js-sdk (so Element Web) sends on every /sync:
    `org.matrix.msc4222.use_state_after` asks for `org.matrix.msc4222.state_after`, the same
    section; the stable parameter, when both are given, answers under the stable name."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    token = (await alice.sync())["next_batch"]
    renamed = await set_state(alice, room_id, "m.room.name", {"name": "Ward 8"})
    unstable = {"org.matrix.msc4222.use_state_after": "true"}
    room = room_of(await alice.sync(since=token, **unstable), room_id)
    assert "state" not in room
    assert "state_after" not in room
    assert [e["event_id"] for e in room["org.matrix.msc4222.state_after"]["events"]] == [renamed]
    both = room_of(await alice.sync(since=token, **unstable, **STATE_AFTER), room_id)
    assert set(both) & {"state", "state_after", "org.matrix.msc4222.state_after"} == {"state_after"}
    refused = await alice.get("/sync", params={"org.matrix.msc4222.use_state_after": "yes"})
    assert refused.status_code == 400, refused.text
