"""The sliding-sync endpoints, their discovery and each dialect's response shape (MSC4186
"Unstable prefix", "Response Body"; the pre-merge shape Element X reads)."""

from __future__ import annotations

from tests.conftest import Homeserver, errcode

from .sliding_client import SlidingClient, all_rooms


async def test_versions_advertises_simplified_sliding_sync(hs: Homeserver) -> None:
    """ "The flag in `/_matrix/client/versions` is `org.matrix.simplified_msc3575`.\""""
    body = (await hs.http.get("/_matrix/client/versions")).json()
    assert body["unstable_features"]["org.matrix.simplified_msc3575"] is True


async def test_auth_metadata_is_unrecognized(hs: Homeserver) -> None:
    """No next-generation auth: Element X must take the password login path."""
    resp = await hs.http.get("/_matrix/client/v1/auth_metadata")
    assert errcode(resp) == (404, "M_UNRECOGNIZED")


async def test_both_paths_need_an_access_token(hs: Homeserver) -> None:
    for path in (
        "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
        "/_matrix/client/v4/sync",
    ):
        assert errcode(await hs.http.post(path, json={})) == (401, "M_MISSING_TOKEN")


async def test_pre_merge_shape(hs: Homeserver) -> None:
    """What matrix-rust-sdk reads: `lists.{name}.count` with SYNC `ops`, `invite_state` for
    invites, `txn_id` echoed."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(name="Ward 7", invite=[bob.user_id])
    response = await SlidingClient(bob).sync({"txn_id": "t1", "lists": {"all": all_rooms(0, 9)}})
    assert response["txn_id"] == "t1"
    assert response["lists"]["all"]["count"] == 1
    assert response["lists"]["all"]["ops"] == [
        {"op": "SYNC", "range": [0, 9], "room_ids": [room_id]}
    ]
    room = response["rooms"][room_id]
    assert "invite_state" in room
    assert "stripped_state" not in room


async def test_merged_shape(hs: Homeserver) -> None:
    """The merged text: pos in the body, `range`, `lists` per room, `stripped_state`, no
    `ops`."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(name="Ward 7", invite=[bob.user_id])
    body = {
        "lists": {
            "all": {
                "range": [0, 9],
                "timeline_limit": 1,
                "required_state": {"include": [{"type": "m.room.name", "state_key": ""}]},
            }
        }
    }
    response = await SlidingClient(bob, merged=True).sync(body)
    assert response["lists"] == {"all": {"count": 1}}
    room = response["rooms"][room_id]
    assert room["lists"] == ["all"]
    assert "stripped_state" in room
    assert "invite_state" not in room


async def test_the_pos_is_a_stream_token_for_messages(hs: Homeserver) -> None:
    """ "A `pos` token can be used in `/messages` and `/relations` APIs, in the same way as a
    `next_batch` from `/v3/sync` response.\""""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    await alice.send_text(room_id, "before")
    client = SlidingClient(alice)
    await client.sync({"lists": {"all": all_rooms()}})
    await alice.send_text(room_id, "after")
    assert client.pos is not None
    resp = await alice.get(f"/rooms/{room_id}/messages", params={"from": client.pos, "dir": "b"})
    assert resp.status_code == 200, resp.text
    bodies = [e["content"].get("body") for e in resp.json()["chunk"]]
    assert bodies[0] == "before"
    resp = await alice.get(f"/rooms/{room_id}/messages", params={"from": client.pos, "dir": "f"})
    assert [e["content"].get("body") for e in resp.json()["chunk"]] == ["after"]
    event_id = await alice.send_text(room_id, "root")
    resp = await hs.http.get(
        f"/_matrix/client/v1/rooms/{room_id}/relations/{event_id}",
        params={"from": client.pos},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert resp.status_code == 200, resp.text
