"""The sliding-sync `e2ee` extension (MSC3884), through the extension itself."""

from __future__ import annotations

from tests.api.sliding_sync.extension_harness import ExtensionSession
from tests.api.test_keys import device_keys
from tests.conftest import Homeserver


async def test_key_counts_always_and_device_lists_after_the_first_response(
    hs: Homeserver,
) -> None:
    """MSC3884: "The semantics of these fields is exactly the same as the current `/sync`
    implementation"; "In practice, Synapse _always_ includes these fields" (the key counts),
    and `device_lists` reports who "changed" and who "left" since the previous response."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    session = ExtensionSession(hs, alice, "e2ee")

    initial = await session.build({})
    assert initial is not None
    assert not initial.news
    assert initial.payload == {
        "device_one_time_keys_count": {"signed_curve25519": 0},
        "device_unused_fallback_key_types": [],
    }

    upload = {
        "device_keys": device_keys(alice),
        "one_time_keys": {"signed_curve25519:AAAA": {"key": "k1", "signatures": {}}},
        "fallback_keys": {
            "signed_curve25519:FFFF": {"key": "fb", "fallback": True, "signatures": {}}
        },
    }
    assert (await alice.post("/keys/upload", json=upload)).status_code == 200
    assert (
        await bob.post("/keys/upload", json={"device_keys": device_keys(bob)})
    ).status_code == 200
    changed = await session.build({})
    assert changed is not None
    assert changed.news
    assert changed.payload["device_lists"]["changed"] == sorted([alice.user_id, bob.user_id])
    assert changed.payload["device_one_time_keys_count"] == {"signed_curve25519": 1}
    assert changed.payload["device_unused_fallback_key_types"] == ["signed_curve25519"]

    # Key counts are sent again, but they are not news: a long-poll keeps waiting.
    quiet = await session.build({})
    assert quiet is not None
    assert not quiet.news
    assert quiet.payload["device_lists"] == {"changed": [], "left": []}
    assert quiet.payload["device_one_time_keys_count"] == {"signed_curve25519": 1}

    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    left = await session.build({})
    assert left is not None
    assert left.news
    assert left.payload["device_lists"]["left"] == [bob.user_id]
