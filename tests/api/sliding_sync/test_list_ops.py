"""The pre-merge `ops` block when a list's rooms are only re-ordered: MSC3575's DELETE/INSERT
pairs instead of a SYNC of the whole range (response.py), checked against a client applying
them (sliding_client.apply_ops) and, for many re-orderings, against the new order."""

from __future__ import annotations

import random
from pathlib import Path

from bastion.config import DatabaseConfig
from bastion.services.sliding_sync.response import list_moves
from tests.conftest import Homeserver, UserClient, homeserver_with

from .sliding_client import SlidingClient, all_rooms, apply_ops, room_ids


def _ops(moves: list[tuple[int, int]], wanted: list[str], start: int) -> list[dict[str, object]]:
    """The ops response.py sends for `moves` (its own rendering is checked end to end below)."""
    ops: list[dict[str, object]] = []
    for old, new in moves:
        ops.append({"op": "DELETE", "index": start + old})
        ops.append({"op": "INSERT", "index": start + new, "room_id": wanted[new]})
    return ops


def _applied(held: list[str], ops: list[dict[str, object]], start: int) -> list[str]:
    """MSC3575's client list after `ops` (nearest empty slot), and the same ops read as
    remove-then-insert on an array: both must give the same list."""
    slots = {start + i: room_id for i, room_id in enumerate(held)}
    apply_ops(slots, ops)
    array = list(held)
    for i in range(0, len(ops), 2):
        delete, insert = ops[i], ops[i + 1]
        del array[int(str(delete["index"])) - start]
        array.insert(int(str(insert["index"])) - start, str(insert["room_id"]))
    assert sorted(slots) == list(range(start, start + len(held)))  # no hole, nothing past
    as_slots = [slots[i] for i in sorted(slots)]
    assert as_slots == array
    return as_slots


def _moved(rng: random.Random, rooms: list[str], count: int, up_only: bool) -> list[str]:
    out = list(rooms)
    for _ in range(count):
        old = rng.randrange(len(out))
        new = rng.randrange(old + 1) if up_only else rng.randrange(len(out))
        out.insert(new, out.pop(old))
    return out


def test_ops_give_back_the_new_order_for_any_reordering() -> None:
    """MSC3575 "Sliding Window API": "`INSERT`: Sets a *single* entry. If the position is not
    empty then clients MUST move entries to the left or the right depending on where the
    closest empty space is"; "`DELETE`: Remove a *single* entry. Often comes before an `INSERT`
    to allow entries to swap places." Over seeded random re-orderings (moves up, moves down,
    shuffles; ranges starting at 0 and further down), every answer applied to the old list
    gives exactly the new one, and one with more than 8 moves is refused."""
    rng = random.Random(3575)
    answered = refused = 0
    for case in range(3000):
        n = rng.choice([1, 2, 3, 5, 8, 20, 60])
        start = 0 if case % 3 else rng.choice([1, 5, 20, 100])
        rooms = [f"!r{i}:hs" for i in range(n)]
        kind = case % 4
        if kind == 3:
            wanted = rng.sample(rooms, n)
        else:
            wanted = _moved(rng, rooms, rng.randint(1, 10), up_only=kind == 0)
        moves = list_moves(rooms, wanted, start=start)
        if moves is None:
            refused += 1
            continue
        answered += 1
        assert len(moves) <= 8
        assert _applied(rooms, _ops(moves, wanted, start), start) == wanted
    assert answered > 1000, answered
    assert refused > 100, refused


def test_a_bump_to_the_top_is_one_pair() -> None:
    """The case every new message makes: "H moves to the front ... DELETE[4], INSERT[0]=H"
    (MSC3575's example); k rooms bumped are k pairs, whatever the list's length."""
    rooms = [f"!r{i}:hs" for i in range(1000)]
    assert list_moves(rooms, [rooms[700], *rooms[:700], *rooms[701:]]) == [(700, 0)]
    assert list_moves(rooms, list(rooms)) == []
    bumped = [rooms[5], rooms[900], rooms[42]]
    wanted = bumped + [r for r in rooms if r not in bumped]
    moves = list_moves(rooms, wanted)
    assert moves is not None
    assert len(moves) == 3
    assert _applied(rooms, _ops(moves, wanted, 0), 0) == wanted


def test_other_changes_are_refused() -> None:
    """A room entering or leaving, more than 8 moves, or (in a range not starting at 0) a move
    whose INSERT is as near the empty slot before the range as the DELETE's: a SYNC instead."""
    rooms = [f"!r{i}:hs" for i in range(20)]
    assert list_moves(rooms, ["!new:hs", *rooms[:-1]]) is None
    assert list_moves(rooms, rooms[:-1]) is None
    assert list_moves(rooms, list(reversed(rooms))) is None
    assert list_moves(rooms, [rooms[19], *rooms[:19]], start=10) is None
    tie = [rooms[0], rooms[3], rooms[1], rooms[2], *rooms[4:]]  # slot 9 as near as slot 13
    assert list_moves(rooms, tie, start=10) is None
    assert list_moves(rooms, tie) == [(3, 1)]
    assert list_moves(rooms, [rooms[0], rooms[2], rooms[1], *rooms[3:]], start=10) == [(2, 1)]


async def _rooms(alice: UserClient, count: int) -> list[str]:
    return [await alice.create_room(name=f"r{i}") for i in range(count)]


async def test_a_woken_reorder_sends_delete_and_insert(hs: Homeserver) -> None:
    """MSC3575: "H moves to the front ... DELETE[4], INSERT[0]=H": a message moving a room to
    the top of a list the client holds is one pair of ops, not the whole range again; the
    client's list stays the server's (a new connection's SYNC), across a pos answered without
    writing (which gets a SYNC) and rooms entering the range."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(alice, 6)  # newest first: rooms[5] .. rooms[0]
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 4)}}
    first = await client.sync(body)
    assert room_ids(first) == [rooms[5], rooms[4], rooms[3], rooms[2], rooms[1]]
    await alice.send_text(rooms[2], "news")
    woken = await client.sync(body)
    assert woken["lists"]["all"] == {
        "count": 6,
        "ops": [
            {"op": "DELETE", "index": 3},
            {"op": "INSERT", "index": 0, "room_id": rooms[2]},
        ],
    }
    assert list(woken["rooms"]) == [rooms[2]]
    for room_id in (rooms[4], rooms[0], rooms[5], rooms[5], rooms[1]):
        await alice.send_text(room_id, "more")
        await client.sync(body)
        fresh = await SlidingClient(alice, conn_id="check").sync(body)
        assert client.held["all"] == room_ids(fresh)


async def test_several_ranges_get_a_sync(hs: Homeserver) -> None:
    """A list of several ranges keeps MSC3575's "`SYNC`: Sets a *range* of entries" per range
    when its rooms are re-ordered."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(alice, 6)
    client = SlidingClient(alice)
    body = {"lists": {"all": {**all_rooms(0, 1), "ranges": [[0, 1], [2, 3]]}}}
    await client.sync(body)
    await alice.send_text(rooms[3], "news")
    woken = await client.sync(body)
    assert [op["op"] for op in woken["lists"]["all"]["ops"]] == ["SYNC", "SYNC"]
    assert room_ids(woken) == [rooms[3], rooms[5], rooms[4], rooms[2]]


async def test_a_pos_answered_without_writing_gets_a_sync_after_a_restart(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """A pos answered without writing (connection.py) names a stored memory older than the
    lists the client holds; after a restart nothing newer is known, so a re-ordering is sent
    as MSC3575's "`SYNC`: Sets a *range* of entries", never as DELETE/INSERT against the
    older lists (which would leave the client's list wrong)."""
    body = {"lists": {"all": all_rooms(0, 9)}}
    async with homeserver_with(tmp_path, database_config) as hs:
        alice = await hs.register_user("alice")
        rooms = await _rooms(alice, 4)  # newest first: rooms[3] .. rooms[0]
        client = SlidingClient(alice)
        await client.sync(body)
        for room_id in (rooms[0], rooms[1]):
            await alice.send_text(room_id, "news")
            await client.sync(body)
        assert client.held["all"] == [rooms[1], rooms[0], rooms[3], rooms[2]]
    async with homeserver_with(tmp_path, database_config) as restarted:
        alice = UserClient(restarted.http, alice.user_id, alice.device_id, alice.token)
        client.user = alice
        await alice.send_text(rooms[2], "after the restart")
        woken = await client.sync(body)
        assert [op["op"] for op in woken["lists"]["all"]["ops"]] == ["SYNC"]
        assert client.held["all"] == [rooms[2], rooms[1], rooms[0], rooms[3]]
