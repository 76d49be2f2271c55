"""Every in-process cache learns of a change only through `CacheInvalidated` on the bus
(subscribed in app/wiring.py): each test warms a cache, changes its data through the API, and
reads again. The last test changes the data behind the API's back, so only the invalidation
can make the new value appear."""

from __future__ import annotations

from typing import Any

from bastion.pubsub.messages import CacheInvalidated
from bastion.services.ignored_users import IGNORED_USER_LIST
from bastion.store.sql.account_data import SqlAccountDataStore
from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, UserClient


def notifications(sync: dict[str, Any], room_id: str) -> int:
    count: int = sync["rooms"]["join"][room_id]["unread_notifications"]["notification_count"]
    return count


async def typing(user: UserClient, room_id: str) -> int:
    resp = await user.put(
        f"/rooms/{room_id}/typing/{user.user_id}", json={"typing": True, "timeout": 30000}
    )
    return resp.status_code


async def two_in_a_room(hs: Homeserver) -> tuple[UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    return alice, bob, room_id


async def test_members_cache_follows_joins_and_leaves(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    assert await typing(alice, room_id) == 200  # the room's members are cached: alice only
    assert await typing(bob, room_id) == 403
    await bob.join(room_id)
    assert await typing(bob, room_id) == 200
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    assert await typing(bob, room_id) == 403


async def test_ruleset_cache_follows_push_rule_changes(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    await alice.send_text(room_id, "counts")  # bob's rules (the defaults) are cached
    assert notifications(await bob.sync(), room_id) == 1
    resp = await bob.put(f"/pushrules/global/room/{room_id}", json={"actions": []})
    assert resp.status_code == 200
    await alice.send_text(room_id, "muted")
    assert notifications(await bob.sync(), room_id) == 1
    assert (await bob.delete(f"/pushrules/global/room/{room_id}")).status_code == 200
    await alice.send_text(room_id, "counts again")
    assert notifications(await bob.sync(), room_id) == 2


async def test_ignored_users_cache_follows_the_list(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    await bob.send_text(room_id, "before")  # alice's list (empty) is cached by the push path
    since = (await alice.sync())["next_batch"]  # ...and by the read path
    resp = await alice.put(
        f"/user/{alice.user_id}/account_data/{IGNORED_USER_LIST}",
        json={"ignored_users": {bob.user_id: {}}},
    )
    assert resp.status_code == 200
    await bob.send_text(room_id, "after")
    sync = await alice.sync(since=since)
    assert "after" not in [e["content"].get("body") for e in timeline(sync, room_id)]
    assert notifications(sync, room_id) == 1  # only "before"


async def test_only_the_invalidation_makes_a_change_behind_the_api_visible(
    hs: Homeserver,
) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    since = (await alice.sync())["next_batch"]  # alice's (empty) list is cached
    with hs.runtime.positions.allocate() as [position]:
        async with hs.runtime.db.transaction() as t:  # a change no service announced
            await SqlAccountDataStore().put(
                t, alice.user_id, "", IGNORED_USER_LIST,
                {"ignored_users": {bob.user_id: {}}}, position,
            )  # fmt: skip
    await bob.send_text(room_id, "seen: the cached list is still empty")
    bodies = [e["content"].get("body") for e in timeline(await alice.sync(since=since), room_id)]
    assert "seen: the cached list is still empty" in bodies
    hs.runtime.bus.publish(CacheInvalidated(IGNORED_USER_LIST, alice.user_id))
    await bob.send_text(room_id, "hidden")
    bodies = [e["content"].get("body") for e in timeline(await alice.sync(since=since), room_id)]
    assert "hidden" not in bodies
    assert "seen: the cached list is still empty" not in bodies  # the list applies to history
