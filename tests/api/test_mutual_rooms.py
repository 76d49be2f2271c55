"""`GET /_matrix/client/v1/mutual_rooms` (and the unstable path matrix-js-sdk calls), from the
spec's text: rooms where both users' membership is `join`, `count` all of them, `next_batch`
while more follow, an empty list for an unknown user, 400 for a missing, malformed or own
`user_id` and for a bad `from`."""

from __future__ import annotations

from typing import Any

from bastion.services.directory.mutual_rooms import PAGE_SIZE
from tests.conftest import Homeserver, UserClient, errcode

STABLE = "/_matrix/client/v1/mutual_rooms"
UNSTABLE = "/_matrix/client/unstable/uk.half-shot.msc2666/user/mutual_rooms"


async def mutual(user: UserClient, path: str = STABLE, **params: str) -> dict[str, Any]:
    resp = await user.get(path, params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_only_rooms_both_joined(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    both = await alice.create_room(name="Both", invite=[bob.user_id])
    await bob.join(both)
    invited = await alice.create_room(name="Invited only", invite=[bob.user_id])
    await alice.create_room(name="Alice only")
    left = await alice.create_room(name="Left", invite=[bob.user_id])
    await bob.join(left)
    assert (await bob.post(f"/rooms/{left}/leave", json={})).status_code == 200
    with_carol = await carol.create_room(name="Bob and carol", invite=[bob.user_id])
    await bob.join(with_carol)

    for path in (STABLE, UNSTABLE):
        assert await mutual(alice, path, user_id=bob.user_id) == {"joined": [both], "count": 1}
    assert await mutual(bob, user_id=carol.user_id) == {"joined": [with_carol], "count": 1}
    assert invited not in (await mutual(bob, user_id=alice.user_id))["joined"]
    # A well-formed user who does not exist (or shares nothing) has no room in common.
    assert await mutual(alice, user_id="@nobody:test.bastion") == {"joined": [], "count": 0}


async def test_pages(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    rooms = []
    for i in range(PAGE_SIZE + 5):
        room_id = await alice.create_room(name=f"R{i}", invite=[bob.user_id])
        await bob.join(room_id)
        rooms.append(room_id)
    first = await mutual(alice, user_id=bob.user_id)
    assert first["count"] == PAGE_SIZE + 5
    assert len(first["joined"]) == PAGE_SIZE
    second = await mutual(alice, user_id=bob.user_id, **{"from": first["next_batch"]})
    assert "next_batch" not in second
    assert second["count"] == PAGE_SIZE + 5
    assert first["joined"] + second["joined"] == sorted(rooms)


async def test_bad_requests(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    for params in ({}, {"user_id": "bob"}, {"user_id": alice.user_id},
                   {"user_id": "@bob:test.bastion", "from": "%%%"}):  # fmt: skip
        resp = await alice.get(STABLE, params=params)
        assert errcode(resp) == (400, "M_INVALID_PARAM"), params
    assert errcode(await hs.http.get(STABLE, params={"user_id": "@b:test.bastion"})) == (
        401, "M_MISSING_TOKEN"
    )  # fmt: skip
