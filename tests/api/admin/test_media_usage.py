"""Synapse's users' media usage statistics (`GET /_synapse/admin/v1/statistics/users/media`,
services/media/usage.py). Synapse's docs: `users` with `displayname`, `media_count`,
`media_length`, `user_id`; `next_token` while more follow; `total` "after filtering";
`order_by` `user_id` (the default), `displayname`, `media_length`, `media_count`; `from_ts` /
`until_ts` on the files' creation; `search_term` in "their user ID localpart **or**
displayname"; `dir` `f` or `b`."""

from __future__ import annotations

from tests.api.test_media import upload
from tests.conftest import Homeserver, errcode

PATH = "/_synapse/admin/v1/statistics/users/media"


async def test_uploads_are_counted_and_summed_per_person(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    await hs.register_user("carol")  # no uploads: not listed
    await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "Zofia 50%"})
    early = hs.clock.now_ms()
    await upload(hs, alice, b"a" * 10)
    await upload(hs, alice, b"b" * 30)
    hs.clock.advance(60)
    late = hs.clock.now_ms()
    await upload(hs, bob, b"c" * 100)
    reserved = await hs.http.post(
        "/_matrix/media/v1/create", headers={"Authorization": f"Bearer {bob.token}"}
    )
    assert reserved.status_code == 200  # a reservation is not an upload: not counted

    body = (await root.get(PATH)).json()
    assert body == {
        "users": [
            {"user_id": alice.user_id, "displayname": "Zofia 50%", "media_count": 2,
             "media_length": 40},
            {"user_id": bob.user_id, "displayname": "bob", "media_count": 1, "media_length": 100},
        ],
        "total": 2,
    }  # fmt: skip
    by_size = (await root.get(PATH, params={"order_by": "media_length", "dir": "b"})).json()
    assert [u["user_id"] for u in by_size["users"]] == [bob.user_id, alice.user_id]
    by_count = (await root.get(PATH, params={"order_by": "media_count"})).json()
    assert [u["user_id"] for u in by_count["users"]] == [bob.user_id, alice.user_id]
    first = (await root.get(PATH, params={"limit": "1"})).json()
    assert (first["users"][0]["user_id"], first["next_token"], first["total"]) == (
        alice.user_id, 1, 2,
    )  # fmt: skip
    rest = (await root.get(PATH, params={"limit": "1", "from": "1"})).json()
    assert [u["user_id"] for u in rest["users"]] == [bob.user_id]
    assert "next_token" not in rest
    since = (await root.get(PATH, params={"from_ts": str(late)})).json()
    assert [u["user_id"] for u in since["users"]] == [bob.user_id]
    until = (await root.get(PATH, params={"until_ts": str(early)})).json()
    assert [(u["user_id"], u["media_count"]) for u in until["users"]] == [(alice.user_id, 2)]
    # The search matches the display name, its "%" literally, or the user ID.
    for term, expected in (
        ("50%", [alice.user_id]),
        ("0%", [alice.user_id]),
        ("BO", [bob.user_id]),
    ):
        found = (await root.get(PATH, params={"search_term": term})).json()
        assert [u["user_id"] for u in found["users"]] == expected, term
    none = (await root.get(PATH, params={"search_term": "5_%"})).json()
    assert none == {"users": [], "total": 0}


async def test_bad_parameters_and_non_admins_are_refused(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    for params in (
        {"order_by": "size"},
        {"dir": "up"},
        {"limit": "-1"},
        {"from": "x"},
        {"from_ts": "-5"},
        {"from_ts": "200", "until_ts": "100"},
    ):
        assert errcode(await root.get(PATH, params=params)) == (400, "M_INVALID_PARAM"), params
    assert errcode(await alice.get(PATH)) == (403, "M_FORBIDDEN")
