"""IgnoredUsers: read once per user, dropped by an invalidation, never kept from a stale read;
fills inside a transaction read through the caller's connection."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from bastion.errors import MatrixError
from bastion.services.ignored_users import IgnoredUsers, check_ignored_user_list, ignored_in
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore

ALICE, BOB, CAROL = "@alice:x", "@bob:x", "@carol:x"


class StoredLists:
    """What the account-data table holds: m.ignored_user_list content per user."""

    def __init__(self) -> None:
        self.content: dict[str, dict[str, Any]] = {}
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.read_through: list[object] = []  # the connection of each read

    async def get(self, q: object, user_id: str, room_id: str, data_type: str) -> Any:
        assert (room_id, data_type) == ("", "m.ignored_user_list")
        self.reads += 1
        self.read_through.append(q)
        value = self.content.get(user_id)
        if self.gate is not None:
            await self.gate.wait()  # the read has happened; its answer arrives later
        return value

    async def get_of_users(
        self, q: object, user_ids: list[str], data_type: str
    ) -> dict[str, dict[str, Any]]:
        assert data_type == "m.ignored_user_list"
        self.reads += 1
        self.read_through.append(q)
        return {u: self.content[u] for u in user_ids if u in self.content}


def cache(stored: StoredLists, max_users: int = 100) -> IgnoredUsers:
    return IgnoredUsers(cast(Database, None), cast(AccountDataStore, stored), max_users=max_users)


def listing(*user_ids: str) -> dict[str, Any]:
    return {"ignored_users": {u: {} for u in user_ids}}


async def test_reads_once_then_from_memory() -> None:
    stored = StoredLists()
    stored.content[ALICE] = listing(BOB)
    ignored = cache(stored)
    assert await ignored.ignored_by(ALICE) == {BOB}
    assert await ignored.ignored_by(ALICE) == {BOB}
    assert await ignored.ignored_by(CAROL) == frozenset()
    assert await ignored.ignored_by(CAROL) == frozenset()
    assert stored.reads == 2


async def test_an_invalidation_drops_the_cached_list() -> None:
    stored = StoredLists()
    ignored = cache(stored)
    assert await ignored.ignored_by(ALICE) == frozenset()
    stored.content[ALICE] = listing(BOB, CAROL)  # committed, then invalidated
    assert await ignored.ignored_by(ALICE) == frozenset()  # still the cached list
    ignored.invalidate(ALICE)
    assert await ignored.ignored_by(ALICE) == {BOB, CAROL}
    assert stored.reads == 2


async def test_who_ignore_reads_through_the_callers_connection_once() -> None:
    stored = StoredLists()
    stored.content[BOB] = listing(ALICE)
    ignored = cache(stored)
    transaction = object()
    assert await ignored.who_ignore(transaction, ALICE, [BOB, CAROL]) == {BOB}
    assert stored.read_through == [transaction]
    assert await ignored.who_ignore(transaction, ALICE, [BOB, CAROL]) == {BOB}
    assert stored.reads == 1  # both kept
    ignored.invalidate(BOB)
    stored.content[BOB] = listing()
    assert await ignored.who_ignore(transaction, ALICE, [BOB, CAROL]) == set()
    assert stored.reads == 2


async def test_a_read_that_raced_with_a_change_is_not_kept() -> None:
    stored = StoredLists()
    stored.content[ALICE] = listing(BOB)
    stored.gate = asyncio.Event()
    ignored = cache(stored)
    slow_read = asyncio.create_task(ignored.ignored_by(ALICE))
    await asyncio.sleep(0)  # the read has started with the old list
    stored.content[ALICE] = listing()  # alice un-ignores bob meanwhile
    ignored.invalidate(ALICE)
    stored.gate.set()
    assert await slow_read == {BOB}  # that caller saw the old list...
    assert await ignored.ignored_by(ALICE) == frozenset()  # ...but it was not cached


async def test_least_recently_used_users_are_dropped() -> None:
    stored = StoredLists()
    ignored = cache(stored, max_users=2)
    await ignored.ignored_by(ALICE)
    await ignored.ignored_by(BOB)
    await ignored.ignored_by(ALICE)
    await ignored.ignored_by(CAROL)  # drops bob, used least recently
    assert stored.reads == 3
    await ignored.ignored_by(ALICE)
    assert stored.reads == 3
    await ignored.ignored_by(BOB)
    assert stored.reads == 4


def test_stored_lists_are_read_leniently() -> None:
    assert ignored_in(ALICE, None) == frozenset()
    assert ignored_in(ALICE, {"ignored_users": [BOB]}) == frozenset()
    assert ignored_in(ALICE, listing(ALICE, BOB)) == {BOB}  # never oneself


def test_new_lists_are_checked() -> None:
    check_ignored_user_list(ALICE, listing(BOB))
    check_ignored_user_list(ALICE, listing())
    for bad in (listing(ALICE), {"ignored_users": {"bob": {}}}, {"ignored_users": None}, {}):
        with pytest.raises(MatrixError):
            check_ignored_user_list(ALICE, bad)
