"""Event hooks (services/event_hooks.py) see every kind of room event, in each of their phases.

A test hook is wired in through the app's construction (`Runtime.open(event_hooks=...)`), like
a DLP or audit hook would be, and for each kind of event (a message, a state event, a
redaction, createRoom's initial events, join, invite, leave, kick, ban, and the member events a
profile change sends) it:
- refuses in `check`: the client gets the hook's MatrixError and nothing is stored;
- writes a row of its own in `record`: the row commits with the event, and when the hook then
  refuses the event, rolls back with it;
- runs in `committed` only once the event is readable by others (committed), and sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typing_extensions import override

from bastion.clock import FakeClock
from bastion.config import DatabaseConfig
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.services.event_hooks import CommittedEvent, EventContext, EventHook
from bastion.store.database import Database, Queryable
from tests.conftest import Homeserver, UserClient, errcode, make_config, start_homeserver

TARGET = "hook-target"


class PolicyHook(EventHook):
    """Refuses, records and observes what the test points it at."""

    def __init__(self) -> None:
        self.db: Database | None = None  # set once the server is up, for `committed`'s read
        self.refuse_check: Callable[[str, str | None, dict[str, Any]], bool] = _never
        self.refuse_record: Callable[[str, str | None, dict[str, Any]], bool] = _never
        self.checked: list[tuple[str | None, EventDraft]] = []
        self.seen: list[tuple[CommittedEvent, bool]] = []  # (event, readable by others)

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> None:
        self.checked.append((room_id, draft))
        if self.refuse_check(draft.type, draft.state_key, draft.content):
            raise MatrixError(403, Errcode.FORBIDDEN, "refused by policy")

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        await q.execute(
            "INSERT INTO hook_rows (event_id, type, room_version) VALUES (?, ?, ?)",
            event.event_id,
            event.type,
            context.room_version,
        )
        if self.refuse_record(event.type, event.state_key, event.content):
            raise MatrixError(403, Errcode.FORBIDDEN, "refused by policy after writing")

    @override
    async def committed(self, committed: CommittedEvent) -> None:
        assert self.db is not None
        found = await self.db.fetch_val(
            "SELECT count(*) FROM events WHERE event_id = ?", committed.event.event_id
        )
        self.seen.append((committed, found == 1))


def _never(event_type: str, state_key: str | None, content: dict[str, Any]) -> bool:
    return False


@dataclass
class World:
    hs: Homeserver
    hook: PolicyHook
    alice: UserClient
    bob: UserClient
    room_id: str
    message_id: str

    async def count(self, table: str) -> int:
        value = await self.hs.runtime.db.fetch_val(f"SELECT count(*) FROM {table}")  # noqa: S608
        return int(value)

    async def hook_rows(self) -> dict[str, str]:
        rows = await self.hs.runtime.db.fetch_all("SELECT event_id, type FROM hook_rows")
        return {r["event_id"]: r["type"] for r in rows}


@pytest.fixture
async def world(
    tmp_path: Path, database_config: DatabaseConfig, clock: FakeClock
) -> AsyncIterator[World]:
    hook = PolicyHook()
    config = make_config(tmp_path, database_config)
    runtime, http = await start_homeserver(config, clock, event_hooks=[hook])
    hook.db = runtime.db
    async with runtime.db.transaction() as t:
        await t.execute(
            "CREATE TABLE hook_rows (event_id TEXT PRIMARY KEY, type TEXT NOT NULL,"
            " room_version TEXT NOT NULL)"
        )
    try:
        hs = Homeserver(runtime, http, clock)
        alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
        room_id = await alice.create_room(preset="public_chat")
        message_id = await alice.send_text(room_id, "to be redacted")
        yield World(hs, hook, alice, bob, room_id, message_id)
    finally:
        await http.aclose()
        await runtime.close()


@dataclass(frozen=True)
class Kind:
    """One kind of event: how to set it up, how a client causes it, and how to spot it."""

    name: str
    act: Callable[[World], Awaitable[httpx.Response]]
    is_target: Callable[[str, str | None, dict[str, Any]], bool]
    setup: Callable[[World], Awaitable[None]] | None = None
    refused_status: int = 403  # what the client gets when a hook refuses the event

    @override
    def __repr__(self) -> str:
        return self.name


def _member(membership: str) -> Callable[[str, str | None, dict[str, Any]], bool]:
    def is_target(event_type: str, state_key: str | None, content: dict[str, Any]) -> bool:
        return (
            event_type == "m.room.member"
            and state_key is not None
            and state_key.startswith("@bob:")
            and content.get("membership") == membership
        )

    return is_target


async def _bob_joins(w: World) -> None:
    await w.bob.join(w.room_id)


async def _send_message(w: World) -> httpx.Response:
    return await w.alice.put(
        f"/rooms/{w.room_id}/send/m.room.message/t1", json={"msgtype": "m.text", "body": TARGET}
    )


async def _set_state(w: World) -> httpx.Response:
    return await w.alice.put(f"/rooms/{w.room_id}/state/org.example.policy/", json={"v": TARGET})


async def _redact(w: World) -> httpx.Response:
    return await w.alice.put(f"/rooms/{w.room_id}/redact/{w.message_id}/r1", json={})


async def _create_room(w: World) -> httpx.Response:
    return await w.alice.post("/createRoom", json={"name": TARGET, "invite": [w.bob.user_id]})


async def _join(w: World) -> httpx.Response:
    return await w.bob.post(f"/join/{w.room_id}", json={})


async def _invite(w: World) -> httpx.Response:
    return await w.alice.post(f"/rooms/{w.room_id}/invite", json={"user_id": w.bob.user_id})


async def _leave(w: World) -> httpx.Response:
    return await w.bob.post(f"/rooms/{w.room_id}/leave", json={})


async def _kick(w: World) -> httpx.Response:
    return await w.alice.post(f"/rooms/{w.room_id}/kick", json={"user_id": w.bob.user_id})


async def _ban(w: World) -> httpx.Response:
    return await w.alice.post(f"/rooms/{w.room_id}/ban", json={"user_id": w.bob.user_id})


async def _set_displayname(w: World) -> httpx.Response:
    return await w.bob.put(f"/profile/{w.bob.user_id}/displayname", json={"displayname": TARGET})


KINDS = [
    Kind("message", _send_message, lambda t, _k, c: t == "m.room.message" and c["body"] == TARGET),
    Kind("state", _set_state, lambda t, _k, _c: t == "org.example.policy"),
    Kind("redaction", _redact, lambda t, _k, _c: t == "m.room.redaction"),
    # The room's name event: the whole room (create event, initial state, invite) goes with it.
    Kind("create_room", _create_room, lambda t, _k, c: t == "m.room.name"),
    Kind("join", _join, _member("join")),
    Kind("invite", _invite, _member("invite")),
    Kind("leave", _leave, _member("leave"), setup=_bob_joins),
    Kind("kick", _kick, _member("leave"), setup=_bob_joins),
    Kind("ban", _ban, _member("ban"), setup=_bob_joins),
    # A profile change is not refused: the room that refuses its member event is skipped.
    Kind(
        "profile",
        _set_displayname,
        lambda t, _k, c: t == "m.room.member" and c.get("displayname") == TARGET,
        setup=_bob_joins,
        refused_status=200,
    ),
]


@pytest.mark.parametrize("kind", KINDS, ids=repr)
async def test_check_refuses_before_anything_is_stored(world: World, kind: Kind) -> None:
    if kind.setup is not None:
        await kind.setup(world)
    events, rooms, before_rows = (
        await world.count("events"),
        await world.count("rooms"),
        await world.hook_rows(),
    )
    world.hook.refuse_check = kind.is_target

    resp = await kind.act(world)

    if kind.refused_status == 200:
        assert resp.status_code == 200, resp.text
    else:
        assert errcode(resp) == (403, "M_FORBIDDEN")
    assert [d for _, d in world.hook.checked if kind.is_target(d.type, d.state_key, d.content)]
    assert await world.count("events") == events
    assert await world.count("rooms") == rooms
    assert await world.hook_rows() == before_rows
    assert not [c for c, _ in world.hook.seen if _is(kind, c)]


@pytest.mark.parametrize("kind", KINDS, ids=repr)
async def test_record_rows_commit_with_the_event(world: World, kind: Kind) -> None:
    if kind.setup is not None:
        await kind.setup(world)
    before = await world.hook_rows()

    resp = await kind.act(world)

    assert resp.status_code == 200, resp.text
    new = {e: t for e, t in (await world.hook_rows()).items() if e not in before}
    targets = [c.event for c, _ in world.hook.seen if _is(kind, c)]
    assert len(targets) == 1
    assert new[targets[0].event_id] == targets[0].type
    stored = await world.hs.runtime.db.fetch_all("SELECT event_id FROM events")
    assert set(new) <= {r["event_id"] for r in stored}
    if kind.name == "create_room":  # every initial event, each with its row
        room_events = await world.hs.runtime.db.fetch_val(
            "SELECT count(*) FROM events WHERE room_id = ?", targets[0].room_id
        )
        assert len(new) == room_events >= 8
        versions = await world.hs.runtime.db.fetch_all(
            "SELECT DISTINCT room_version FROM hook_rows"
        )
        assert [r["room_version"] for r in versions] == ["12"]


@pytest.mark.parametrize("kind", KINDS, ids=repr)
async def test_record_rows_roll_back_with_the_event(world: World, kind: Kind) -> None:
    if kind.setup is not None:
        await kind.setup(world)
    events, before = await world.count("events"), await world.hook_rows()
    world.hook.refuse_record = kind.is_target

    resp = await kind.act(world)

    if kind.refused_status == 200:
        assert resp.status_code == 200, resp.text
    else:
        assert errcode(resp) == (403, "M_FORBIDDEN")
    assert await world.count("events") == events
    assert await world.hook_rows() == before


@pytest.mark.parametrize("kind", KINDS, ids=repr)
async def test_committed_runs_after_commit_and_sees_the_event(world: World, kind: Kind) -> None:
    if kind.setup is not None:
        await kind.setup(world)
    seen_before = len(world.hook.seen)

    resp = await kind.act(world)

    assert resp.status_code == 200, resp.text
    after = world.hook.seen[seen_before:]
    ours = [(c, readable) for c, readable in after if _is(kind, c)]
    assert len(ours) == 1
    committed, readable = ours[0]
    assert readable  # another connection reads it: the transaction had committed
    assert world.alice.user_id in committed.concerned
    assert committed.context.room_version == "12"
    if resp.json().get("event_id") is not None:
        assert committed.event.event_id == resp.json()["event_id"]
    if kind.name == "create_room":
        assert committed.event.room_id == resp.json()["room_id"]
        assert len(after) >= 8  # each initial event, in order
        assert [c.event.stream_ordering for c, _ in after] == sorted(
            c.event.stream_ordering for c, _ in after
        )


async def test_checks_of_a_new_room_see_no_room_id_and_run_before_any_write(world: World) -> None:
    world.hook.checked.clear()
    events = await world.count("events")
    world.hook.refuse_check = lambda t, _k, _c: t == "m.room.member"  # the creator's join

    resp = await world.alice.post("/createRoom", json={"invite": [world.bob.user_id]})

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert [d.type for _, d in world.hook.checked] == ["m.room.create", "m.room.member"]
    assert await world.count("events") == events  # not even the create event was written
    assert {room_id for room_id, _ in world.hook.checked} == {None}


def _is(kind: Kind, committed: CommittedEvent) -> bool:
    event = committed.event
    return kind.is_target(event.type, event.state_key, event.content)
