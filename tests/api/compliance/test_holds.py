"""Legal holds: the admin API, the compliance role, and what a hold protects.

Issue #13 §2: "Everything a hold covers (a held user's messages in any room, including rooms
they left; everything in a held room) is never purged by retention, never erased by
offboarding, never lost by redaction: the original content of a redacted held event is
preserved in the hold store ... while clients still see it redacted." "Placing and releasing
are audited."
"""

from __future__ import annotations

from tests.api.compliance.retention_helpers import (
    DAY_MS,
    DAY_S,
    HOLDS,
    event_ids_in_db,
    place_hold,
    purge,
    set_retention,
)
from tests.conftest import Homeserver, UserClient


async def _redact(user: UserClient, room_id: str, event_id: str, txn: str) -> None:
    resp = await user.put(f"/rooms/{room_id}/redact/{event_id}/{txn}", json={"reason": "oops"})
    assert resp.status_code == 200, resp.text


async def _originals(hs: Homeserver, table: str) -> set[str]:
    rows = await hs.runtime.db.fetch_all(f"SELECT event_id FROM {table}")  # noqa: S608
    return {row[0] for row in rows}


async def test_only_admins_and_the_compliance_role_manage_holds(hs: Homeserver) -> None:
    """Issue #13: "An admin (or a user with the `compliance` role, which the admin API
    grants) places a hold"; placing and releasing are audited."""
    root = await hs.register_user("root", admin=True)
    carol = await hs.register_user("carol")
    spec = {"case": "c-1", "reason": "court order", "users": ["@alice:test"]}
    resp = await carol.post(HOLDS, json=spec)
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    resp = await carol.put(f"/_bastion/admin/v1/users/{carol.user_id}/roles", json={"roles": []})
    assert resp.status_code == 403  # granting roles is for admins
    resp = await root.put(
        f"/_bastion/admin/v1/users/{carol.user_id}/roles", json={"roles": ["compliance"]}
    )
    assert resp.json() == {"roles": ["compliance"]}
    resp = await root.put(f"/_bastion/admin/v1/users/{carol.user_id}/roles", json={"roles": ["x"]})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM")
    hold_id = await place_hold(carol, users=["@alice:test"], rooms=["!room:test"])
    resp = await carol.get(HOLDS)
    assert resp.status_code == 200, resp.text
    [entry] = resp.json()["entries"]
    assert entry["hold_id"] == hold_id
    assert (entry["users"], entry["rooms"], entry["active"]) == (
        ["@alice:test"], ["!room:test"], True
    )  # fmt: skip
    assert resp.json()["next"] is None
    resp = await carol.post(f"{HOLDS}/{hold_id}/release")
    assert resp.status_code == 200, resp.text
    assert (resp.json()["active"], resp.json()["released_by"]) == (False, carol.user_id)
    resp = await carol.post(f"{HOLDS}/{hold_id}/release")
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM")
    resp = await carol.post(f"{HOLDS}/hold_unknown/release")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    audit = await root.get("/_bastion/admin/v1/audit", params={"target": hold_id})
    assert [(e["action"], e["outcome"]) for e in audit.json()["entries"]] == [
        ("hold.place", "success"), ("hold.release", "success"), ("hold.release", "failure")
    ]  # fmt: skip
    # The role can be taken away again; then carol is refused.
    await root.put(f"/_bastion/admin/v1/users/{carol.user_id}/roles", json={"roles": []})
    assert (await carol.get(HOLDS)).status_code == 403


async def test_a_hold_must_name_valid_users_or_rooms(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    for spec in (
        {"case": "c"},
        {"case": "", "users": ["@a:test"]},
        {"case": "c", "users": ["alice"]},
        {"case": "c", "rooms": ["#alias:test"]},
    ):
        resp = await root.post(HOLDS, json=spec)
        assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM"), spec
    resp = await root.post(HOLDS, json={"case": "c", "users": ["@a:test"], "extra": 1})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")


async def test_holds_are_listed_in_pages(hs: Homeserver) -> None:
    """Lists answer `{"entries": [...], "next": token-or-null}`."""
    root = await hs.register_user("root", admin=True)
    placed = []
    for i in range(3):
        placed.append(await place_hold(root, users=[f"@user{i}:test"]))
        hs.clock.advance(1)
    first = (await root.get(HOLDS, params={"limit": "2"})).json()
    assert [e["hold_id"] for e in first["entries"]] == placed[:2]
    second = (await root.get(HOLDS, params={"limit": "2", "from": first["next"]})).json()
    assert ([e["hold_id"] for e in second["entries"]], second["next"]) == (placed[2:], None)


async def test_a_held_users_messages_survive_the_purge_even_in_rooms_they_left(
    hs: Homeserver,
) -> None:
    """A held user's messages in any room, including rooms they left, are never purged by
    retention; other senders' messages in the same room are; a released hold protects no
    more."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room = await bob.create_room(preset="public_chat")
    await alice.join(room)
    held = [await alice.send_text(room, f"alice {i}") for i in range(2)]
    unheld = [await bob.send_text(room, f"bob {i}") for i in range(2)]
    assert (await alice.post(f"/rooms/{room}/leave", json={})).status_code == 200
    await bob.send_text(room, "the latest")
    hold_id = await place_hold(root, users=[alice.user_id])
    await set_retention(root, default_max_lifetime_ms=DAY_MS)
    hs.clock.advance(2 * DAY_S)
    assert (await purge(root))["events"] == 2
    left = await event_ids_in_db(hs, room)
    assert set(held) <= left
    assert not set(unheld) & left
    assert (await root.post(f"{HOLDS}/{hold_id}/release")).status_code == 200
    assert (await purge(root))["events"] == 2
    assert not set(held) & await event_ids_in_db(hs, room)


async def test_redaction_never_loses_a_held_event(hs: Homeserver) -> None:
    """The original of a redacted held event is kept in the hold store, and kept from the
    redacted-content pruning (`retention.redacted_content_days`), while clients see it
    redacted; an unheld one's original is pruned after those days."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await place_hold(root, users=[alice.user_id])
    held = await alice.send_text(room, "held secret")
    unheld = await bob.send_text(room, "unheld secret")
    await _redact(alice, room, held, "r1")
    await _redact(bob, room, unheld, "r2")
    assert await _originals(hs, "held_event_originals") == {held}
    seen = (await bob.get(f"/rooms/{room}/event/{held}")).json()
    assert seen["content"] == {}
    hs.clock.advance(8 * DAY_S)  # past the default 7 days
    assert (await purge(root))["redacted_originals"] == 1
    assert await _originals(hs, "redacted_event_originals") == {held}
    assert await _originals(hs, "held_event_originals") == {held}
    pdu = await hs.runtime.db.fetch_val(
        "SELECT pdu FROM held_event_originals WHERE event_id = ?", held
    )
    assert "held secret" in pdu


async def test_placing_a_hold_keeps_originals_redacted_before_it(hs: Homeserver) -> None:
    """A hold placed after a redaction still keeps the original (it is copied into the hold
    store when the hold is placed); releasing the hold lets it be pruned."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    event = await alice.send_text(room, "said before the hold")
    await _redact(alice, room, event, "r1")
    hold_id = await place_hold(root, rooms=[room])
    assert await _originals(hs, "held_event_originals") == {event}
    hs.clock.advance(8 * DAY_S)
    assert (await purge(root))["redacted_originals"] == 0
    assert (await root.post(f"{HOLDS}/{hold_id}/release")).status_code == 200
    assert await _originals(hs, "held_event_originals") == set()
    assert (await purge(root))["redacted_originals"] == 1
    assert await _originals(hs, "redacted_event_originals") == set()
