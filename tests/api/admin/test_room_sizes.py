"""Synapse's largest-rooms statistic (docs/admin_api/statistics.md): "Returns the 10 largest
rooms and an estimate of how much space in the database they are taking"; "`rooms` - An array
of objects, sorted by largest room first", each with `room_id` and `estimated_size` ("disk
space used in bytes by the room in the database"). Synapse answers an error on SQLite; Bastion
answers on both databases."""

from __future__ import annotations

import random
import string
from typing import Any

from tests.conftest import Homeserver, UserClient, errcode

PATH = "/_synapse/admin/v1/statistics/database/rooms"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


async def largest(admin: UserClient) -> list[dict[str, Any]]:
    resp = await admin.get(PATH)
    assert resp.status_code == 200, resp.text
    assert list(resp.json()) == ["rooms"]
    rooms: list[dict[str, Any]] = resp.json()["rooms"]
    return rooms


async def test_the_ten_largest_rooms_largest_first(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room() for _ in range(11)]
    big, bigger = rooms[3], rooms[7]
    # Random text, so that PostgreSQL's compression cannot shrink one room below the other.
    for _ in range(5):
        await alice.send_text(big, "".join(random.choices(string.ascii_letters, k=1500)))
    for _ in range(5):
        # Arabic: two bytes a letter in UTF-8
        await alice.send_text(bigger, "".join(random.choices(ARABIC, k=2500)))

    answer = await largest(root)

    assert len(answer) == 10
    assert [r["room_id"] for r in answer[:2]] == [bigger, big]
    sizes = [r["estimated_size"] for r in answer]
    assert sizes == sorted(sizes, reverse=True)
    assert all(isinstance(size, int) and size > 0 for size in sizes)
    before = answer[1]["estimated_size"]
    if hs.runtime.db.dialect == "sqlite":  # the JSON's bytes; PostgreSQL compresses it
        assert answer[0]["estimated_size"] > 5 * 2 * 2500 > before > 5 * 1500
    # A room grows as its messages do.
    for _ in range(3):
        await alice.send_text(big, "".join(random.choices(string.ascii_letters, k=3000)))
    grown = {r["room_id"]: r["estimated_size"] for r in await largest(root)}
    assert grown[big] > before


async def test_only_admins(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    assert errcode(await alice.get(PATH)) == (403, "M_FORBIDDEN")
    assert errcode(await hs.http.get(PATH)) == (401, "M_MISSING_TOKEN")
