"""POST /user_directory/search: folding, who is findable in each mode, deactivation, limits."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.config import UserDirectoryConfig
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.store.sql.user_directory import SqlUserDirectoryStore
from bastion.workers.backfills import UserDirectoryBackfill
from bastion.workers.base import run_to_completion
from tests.conftest import OPERATOR, Homeserver, UserClient, errcode

SHARED_ROOMS_ONLY = {"user_directory": UserDirectoryConfig(search_all_users=False)}


async def search(user: UserClient, term: str, **extra: Any) -> dict[str, Any]:
    resp = await user.post("/user_directory/search", json={"search_term": term, **extra})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def found(user: UserClient, term: str) -> list[str]:
    return [r["user_id"] for r in (await search(user, term))["results"]]


async def named(hs: Homeserver, localpart: str, displayname: str) -> UserClient:
    user = await hs.register_user(localpart)
    path = f"/profile/{user.user_id}/displayname"
    assert (await user.put(path, json={"displayname": displayname})).status_code == 200
    return user


async def test_finds_by_id_and_folded_display_name(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    turtle = await named(hs, "turtle", "Żółw Łukasz")
    muhammad = await named(hs, "m.ali", "مُحَمَّد عَلِيّ")
    await hs.register_user("bob")

    assert await found(alice, "zolw") == [turtle.user_id]
    assert await found(alice, "ŁUK") == [turtle.user_id]  # prefix, any case
    assert await found(alice, "lukasz zol") == [turtle.user_id]  # every word, any order
    assert await found(alice, "محمد") == [muhammad.user_id]  # typed without tashkeel
    assert await found(alice, "@m.ali") == [muhammad.user_id]  # by user ID
    assert await found(alice, "turtle") == [turtle.user_id]
    assert await found(alice, "zolw bob") == []
    assert await found(alice, "...") == []  # no searchable token: nobody, not everybody
    result = await search(alice, "zolw")
    assert result == {
        "results": [{"user_id": turtle.user_id, "display_name": "Żółw Łukasz"}],
        "limited": False,
    }


async def test_display_name_changes_and_avatars_show_at_once(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    carol = await named(hs, "carol", "Carol Kowalska")
    avatar = "mxc://test.bastion/abc"
    await carol.put(f"/profile/{carol.user_id}/avatar_url", json={"avatar_url": avatar})
    assert (await search(alice, "kowal"))["results"] == [
        {"user_id": carol.user_id, "display_name": "Carol Kowalska", "avatar_url": avatar}
    ]
    await carol.put(f"/profile/{carol.user_id}/displayname", json={"displayname": "Carol Nowak"})
    assert await found(alice, "kowal") == []
    assert await found(alice, "nowak") == [carol.user_id]


async def test_deactivated_users_are_never_found(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    leaver = await named(hs, "leaver", "Dawid Leaver")
    assert await found(alice, "dawid") == [leaver.user_id]
    await hs.runtime.services.accounts.deactivate(OPERATOR, leaver.user_id)
    assert await found(alice, "dawid") == []
    assert await found(alice, "leaver") == []
    # The start-up backfill does not bring them back.
    index = UserDirectoryIndex(SqlUserDirectoryStore())
    await run_to_completion(UserDirectoryBackfill(hs.runtime.db, index))
    assert await found(alice, "leaver") == []


async def test_accounts_from_before_the_directory_are_indexed_at_start_up(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    old = await named(hs, "old", "Ołena Stara")
    await hs.runtime.db.execute("DELETE FROM user_directory_terms")
    assert await found(alice, "olena") == []
    index = UserDirectoryIndex(SqlUserDirectoryStore())
    indexed = await run_to_completion(UserDirectoryBackfill(hs.runtime.db, index, batch=1))
    assert indexed == 2
    assert await found(alice, "olena") == [old.user_id]
    assert await found(alice, "alice") == [alice.user_id]


async def test_limit_and_limited(hs: Homeserver) -> None:
    searcher = await hs.register_user("searcher")
    for i in range(4):
        await named(hs, f"team{i}", f"Team Member {i}")
    everyone = await search(searcher, "team")
    assert len(everyone["results"]) == 4
    assert everyone["limited"] is False
    # Named users come first, ordered by display name.
    assert [r["display_name"] for r in everyone["results"]] == [
        f"Team Member {i}" for i in range(4)
    ]
    two = await search(searcher, "team", limit=2)
    assert [r["display_name"] for r in two["results"]] == ["Team Member 0", "Team Member 1"]
    assert two["limited"] is True
    assert len((await search(searcher, "team", limit=1000))["results"]) == 4  # capped at 50


async def test_bad_requests(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    resp = await alice.post("/user_directory/search", json={"limit": 5})
    assert errcode(resp) == (400, "M_BAD_JSON")
    resp = await alice.post("/user_directory/search", json={"search_term": 5})
    assert errcode(resp) == (400, "M_BAD_JSON")
    resp = await alice.post("/user_directory/search", content=b"{nope")
    assert errcode(resp) == (400, "M_NOT_JSON")
    resp = await hs.http.post(
        "/_matrix/client/v3/user_directory/search", json={"search_term": "alice"}
    )
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("config_overrides", [SHARED_ROOMS_ONLY])
async def test_shared_rooms_mode_finds_only_people_one_shares_a_room_with(
    hs: Homeserver,
) -> None:
    alice = await named(hs, "alice", "Anna Alpha")
    roommate = await named(hs, "roommate", "Anna Roommate")
    invited = await named(hs, "invited", "Anna Invited")
    stranger = await named(hs, "stranger", "Anna Stranger")
    leaver = await named(hs, "leaver", "Anna Leaver")
    guests = [invited.user_id, roommate.user_id, leaver.user_id]
    room_id = await alice.create_room(preset="private_chat", invite=guests)
    await roommate.join(room_id)
    await leaver.join(room_id)
    assert (await leaver.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    stranger_room = await stranger.create_room(preset="private_chat", invite=[alice.user_id])

    # Joined members only: not the invitee, not someone who left, not the stranger.
    assert await found(alice, "anna") == [alice.user_id, roommate.user_id]
    assert await found(stranger, "anna") == [stranger.user_id]
    assert await found(invited, "anna") == [invited.user_id]
    await alice.join(stranger_room)
    assert await found(stranger, "anna") == [alice.user_id, stranger.user_id]


@pytest.mark.parametrize("config_overrides", [SHARED_ROOMS_ONLY])
async def test_shared_rooms_mode_also_finds_members_of_public_and_world_readable_rooms(
    hs: Homeserver,
) -> None:
    """The spec's minimum: people sharing a room, and members of rooms with a public join rule
    or world-readable history."""
    outsider = await named(hs, "outsider", "Anna Outsider")
    public = await named(hs, "public", "Anna Public")
    reader = await named(hs, "reader", "Anna Reader")
    private = await named(hs, "private", "Anna Private")
    await public.create_room(preset="public_chat")
    visible_history = {
        "type": "m.room.history_visibility", "state_key": "",
        "content": {"history_visibility": "world_readable"},
    }  # fmt: skip
    await reader.create_room(preset="private_chat", initial_state=[visible_history])
    await private.create_room(preset="private_chat")
    assert await found(outsider, "anna") == [outsider.user_id, public.user_id, reader.user_id]
