"""A held user's messages survive their offboarding with `erase`.

Issue #13 §2: everything a hold covers "is never erased by offboarding"; "The purge and erase
queries themselves exclude held events (the SQL, not a check before it), so no code path can
bypass a hold." Issue #12 §2 step 5: "with `erase: true`: profile cleared and their messages
redacted (unless a legal hold covers them)".
"""

from __future__ import annotations

from bastion.store.sql.offboarding import SqlOffboardingJobStore
from tests.api.compliance.retention_helpers import place_hold
from tests.conftest import Homeserver


async def _pdu(hs: Homeserver, event_id: str) -> str:
    return str(await hs.runtime.db.fetch_val("SELECT pdu FROM events WHERE event_id = ?", event_id))


async def test_a_held_users_messages_survive_offboarding_with_erase(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    room = await root.create_room(preset="public_chat")
    left = await root.create_room(preset="public_chat")
    for user in (alice, carol):
        await user.join(room)
        await user.join(left)
    in_left = await alice.send_text(left, "alice before leaving")
    assert (await alice.post(f"/rooms/{left}/leave", json={})).status_code == 200
    held = await alice.send_text(room, "alice held words")
    unheld = await carol.send_text(room, "carol erasable words")
    await place_hold(root, users=[alice.user_id])
    resp = await root.post(
        f"/_bastion/admin/v1/users/{alice.user_id}/offboard", json={"erase": True}
    )
    assert resp.status_code == 200, resp.text
    resp = await root.post(
        f"/_bastion/admin/v1/users/{carol.user_id}/offboard", json={"erase": True}
    )
    assert resp.status_code == 200, resp.text
    assert "alice held words" in await _pdu(hs, held)
    assert "alice before leaving" in await _pdu(hs, in_left)
    assert "carol erasable words" not in await _pdu(hs, unheld)
    seen = await root.get(f"/rooms/{room}/event/{held}")
    assert seen.json()["content"]["body"] == "alice held words"


async def test_the_erase_query_itself_skips_held_events(hs: Homeserver) -> None:
    """Even a caller that skips the hold check cannot erase a held event: the UPDATE carries
    the hold clause."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    held = await alice.send_text(room, "kept by the hold")
    await place_hold(root, rooms=[room])
    async with hs.runtime.db.transaction() as t:
        await SqlOffboardingJobStore().erase_event(t, held, '{"erased": true}', "$marker")
    assert "kept by the hold" in await _pdu(hs, held)
