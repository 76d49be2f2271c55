"""Synapse's Forward Extremities Admin API (docs/admin_api/rooms.md: "querying and deleting
forward extremities from rooms", `count` and `results` of `event_id`, `state_group`, `depth`,
`received_ts`; DELETE answers how many "were deleted") and Federation API
(docs/usage/administration/admin_api/federation.md: `destinations`, `total`; "Unknown
destination" for one never contacted). Bastion builds every event on the room's previous one
and never federates, so a room has exactly one extremity and there are no destinations.
"""

from __future__ import annotations

from urllib.parse import quote

from tests.api.admin.test_moderation_redact import audit_rows
from tests.conftest import Homeserver, errcode

ROOMS = "/_synapse/admin/v1/rooms"
FEDERATION = "/_synapse/admin/v1/federation/destinations"


async def test_a_room_has_one_forward_extremity_its_latest_event(hs: Homeserver) -> None:
    """The latest event is the one extremity (by room ID or alias); it moves on with the next
    message; deleting the extra ones deletes none, audited; unknown rooms 404."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_alias_name="ops")
    first = await alice.send_text(room_id, "one")
    path = f"{ROOMS}/{quote(room_id)}/forward_extremities"

    resp = await root.get(path)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == 1
    [extremity] = body["results"]
    assert extremity["event_id"] == first
    assert extremity["state_group"] is None
    assert isinstance(extremity["depth"], int)
    assert extremity["depth"] > 1
    assert extremity["received_ts"] == hs.clock.now_ms()

    second = await alice.send_text(room_id, "two")
    by_alias = await root.get(f"{ROOMS}/{quote('#ops:test.bastion')}/forward_extremities")
    [moved] = by_alias.json()["results"]
    assert (moved["event_id"], moved["depth"]) == (second, extremity["depth"] + 1)

    deleted = await root.delete(path)
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": 0})
    assert (await root.get(path)).json()["results"] == [moved]
    assert await audit_rows(hs, "room.delete_forward_extremities") == [("success", room_id)]

    unknown = f"{ROOMS}/{quote('!nowhere:test.bastion')}/forward_extremities"
    assert errcode(await root.get(unknown)) == (404, "M_NOT_FOUND")
    assert errcode(await root.delete(unknown)) == (404, "M_NOT_FOUND")
    assert errcode(await alice.get(path)) == (403, "M_FORBIDDEN")
    assert errcode(await alice.delete(path)) == (403, "M_FORBIDDEN")


async def test_no_federation_destinations(hs: Homeserver) -> None:
    """An empty list (its parameters still checked); any one destination unknown."""
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    listed = await root.get(FEDERATION, params={"from": "0", "limit": "10", "dir": "b"})
    assert (listed.status_code, listed.json()) == (200, {"destinations": [], "total": 0})
    assert errcode(await root.get(FEDERATION, params={"from": "-1"})) == (400, "M_INVALID_PARAM")
    assert errcode(await root.get(FEDERATION, params={"order_by": "x"})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    assert errcode(await root.get(FEDERATION, params={"dir": "up"})) == (400, "M_INVALID_PARAM")
    for resp in (
        await root.get(f"{FEDERATION}/matrix.org"),
        await root.get(f"{FEDERATION}/matrix.org/rooms"),
        await root.post(f"{FEDERATION}/matrix.org/reset_connection", json={}),
    ):
        assert errcode(resp) == (404, "M_NOT_FOUND")
    assert errcode(await bob.get(FEDERATION)) == (403, "M_FORBIDDEN")
