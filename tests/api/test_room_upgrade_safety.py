"""A room upgrade that fails, or that two people start at once, leaves one consistent answer
(services/rooms/upgrade.py): the old room either names one new room, with the aliases moved and
the members invited, or is as it was; no member is invited to a room the old one never named.

A test hook (services/event_hooks.py, wired through `start_homeserver(event_hooks=...)`) holds
or refuses the old room's tombstone, in its `check` (nothing written) or its `record` (written,
then rolled back with the transaction).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typing_extensions import override

from bastion.config import DatabaseConfig
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.services.event_hooks import EventContext, EventHook
from bastion.store.database import Queryable
from tests.conftest import FakeClock, Homeserver, UserClient, errcode, make_config, start_homeserver

TOMBSTONE = "m.room.tombstone"


class TombstoneGate(EventHook):
    """Holds each tombstone until released; refuses it when told to."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.released = asyncio.Event()
        self.released.set()
        self.refuse_in: str | None = None  # "check" or "record"

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> EventDraft | None:
        if draft.type == TOMBSTONE:
            self.reached.set()
            await self.released.wait()
            if self.refuse_in == "check":
                raise MatrixError(403, Errcode.FORBIDDEN, "tombstones are refused here")
        return None

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        if event.type == TOMBSTONE and self.refuse_in == "record":
            raise MatrixError(403, Errcode.FORBIDDEN, "tombstones are refused after writing")


@pytest.fixture
async def gated(
    tmp_path: Path, database_config: DatabaseConfig, clock: FakeClock
) -> AsyncIterator[tuple[Homeserver, TombstoneGate]]:
    gate = TombstoneGate()
    config = make_config(tmp_path, database_config)
    runtime, http = await start_homeserver(config, clock, event_hooks=[gate])
    try:
        yield Homeserver(runtime, http, clock), gate
    finally:
        await http.aclose()
        await runtime.close()


async def ward(hs: Homeserver) -> tuple[UserClient, UserClient, UserClient, str]:
    """Alice's invite-only room with an alias, listed in the directory; bob (a member) and
    carol (an admin of it)."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(
        room_version="11",
        name="Ward 7",
        room_alias_name="ward7",
        visibility="public",  # listed in the directory, yet invite-only: members are invited
        preset="private_chat",
        invite=[bob.user_id, carol.user_id],
        power_level_content_override={"users": {alice.user_id: 100, carol.user_id: 100}},
    )
    await bob.join(room_id)
    await carol.join(room_id)
    return alice, bob, carol, room_id


async def held_upgrade(
    user: UserClient, room_id: str, gate: TombstoneGate
) -> asyncio.Task[httpx.Response]:
    """`user`'s upgrade of the room, started and held at its tombstone (until
    `gate.released` is set)."""
    gate.released.clear()
    task = asyncio.create_task(user.post(f"/rooms/{room_id}/upgrade", json={"new_version": "12"}))
    await asyncio.wait_for(gate.reached.wait(), 10)
    return task


async def joined_and_invited(user: UserClient) -> tuple[set[str], set[str]]:
    sync = await user.sync()
    return set(sync["rooms"]["join"]), set(sync["rooms"]["invite"])


async def upgrade_audits(hs: Homeserver) -> list[str]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT details FROM audit_log WHERE action = 'room.upgrade'"
    )
    return [json.loads(row[0])["replacement_room"] for row in rows]


@pytest.mark.parametrize("phase", ["check", "record"])
async def test_a_refused_tombstone_leaves_the_old_room_as_it_was(
    gated: tuple[Homeserver, TombstoneGate], phase: str
) -> None:
    hs, gate = gated
    alice, bob, _carol, room_id = await ward(hs)
    alice_rooms_before, _ = await joined_and_invited(alice)
    gate.refuse_in = phase

    refused = await alice.post(f"/rooms/{room_id}/upgrade", json={"new_version": "12"})

    assert errcode(refused) == (403, "M_FORBIDDEN")
    state = {
        (e["type"], e["state_key"]) for e in (await alice.get(f"/rooms/{room_id}/state")).json()
    }
    assert (TOMBSTONE, "") not in state
    # The alias and the directory listing stay with the old room (rolled back with the
    # tombstone when it was refused after writing).
    alias = await alice.get("/directory/room/%23ward7:test.bastion")
    assert alias.json()["room_id"] == room_id
    listed = [r["room_id"] for r in (await alice.get("/publicRooms")).json()["chunk"]]
    assert listed == [room_id]
    # No member was invited anywhere, and the upgrader is not left in a stray room.
    _, bob_invites = await joined_and_invited(bob)
    assert bob_invites == set()
    alice_rooms_after, _ = await joined_and_invited(alice)
    assert alice_rooms_after == alice_rooms_before
    assert await upgrade_audits(hs) == []
    # The room still works, and can be upgraded once the refusal is gone.
    await bob.send_text(room_id, "still here")
    gate.refuse_in = None
    upgraded = await alice.post(f"/rooms/{room_id}/upgrade", json={"new_version": "12"})
    assert upgraded.status_code == 200, upgraded.text
    assert await upgrade_audits(hs) == [upgraded.json()["replacement_room"]]


async def test_the_same_users_repeated_request_gets_the_same_new_room(
    gated: tuple[Homeserver, TombstoneGate],
) -> None:
    """A client retrying while its upgrade runs: one new room, one tombstone."""
    hs, gate = gated
    alice, bob, _carol, room_id = await ward(hs)
    first = await held_upgrade(alice, room_id, gate)
    second = asyncio.create_task(
        alice.post(f"/rooms/{room_id}/upgrade", json={"new_version": "12"})
    )
    await asyncio.sleep(0.05)
    assert not second.done()
    gate.released.set()
    answers = [await asyncio.wait_for(task, 10) for task in (first, second)]
    assert [a.status_code for a in answers] == [200, 200]
    replacements = {a.json()["replacement_room"] for a in answers}
    assert len(replacements) == 1
    assert await upgrade_audits(hs) == list(replacements)
    _, bob_invites = await joined_and_invited(bob)
    assert bob_invites == replacements


async def test_someone_else_upgrading_at_the_same_time_is_refused(
    gated: tuple[Homeserver, TombstoneGate],
) -> None:
    hs, gate = gated
    alice, bob, carol, room_id = await ward(hs)
    first = await held_upgrade(alice, room_id, gate)
    refused = await asyncio.wait_for(
        carol.post(f"/rooms/{room_id}/upgrade", json={"new_version": "12"}), 10
    )
    assert errcode(refused) == (400, "M_BAD_STATE")
    gate.released.set()
    answer = await asyncio.wait_for(first, 10)
    assert answer.status_code == 200
    new_room = answer.json()["replacement_room"]
    assert await upgrade_audits(hs) == [new_room]
    _, bob_invites = await joined_and_invited(bob)
    assert bob_invites == {new_room}


async def test_the_upgrade_finishes_when_its_client_hangs_up(
    gated: tuple[Homeserver, TombstoneGate],
) -> None:
    """A request cancelled half way (its client gone) does not leave half an upgrade."""
    hs, gate = gated
    alice, bob, _carol, room_id = await ward(hs)
    request = await held_upgrade(alice, room_id, gate)
    request.cancel()
    gate.released.set()
    for _ in range(500):  # bounded: until the upgrade (running on) has invited bob
        _, bob_invites = await joined_and_invited(bob)
        if bob_invites:
            break
        await asyncio.sleep(0.01)
    (new_room,) = bob_invites
    assert await upgrade_audits(hs) == [new_room]
    tombstone = await alice.get(f"/rooms/{room_id}/state/{TOMBSTONE}/")
    assert tombstone.json()["replacement_room"] == new_room
