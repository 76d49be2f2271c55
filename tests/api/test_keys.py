"""Keys: upload, query, claim, changes, cross-signing and signatures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from signedjson.key import generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from unpaddedbase64 import encode_base64

from bastion.store.sql.keys import SqlKeyStore
from tests.conftest import PASSWORD, Homeserver, UserClient, errcode


def device_keys(client: UserClient, signing_key: Any = None) -> dict[str, Any]:
    """Device keys as a client publishes them, self-signed with the device's ed25519 key."""
    key = signing_key or generate_signing_key(client.device_id)
    public = encode_base64(get_verify_key(key).encode())
    keys = {
        "user_id": client.user_id,
        "device_id": client.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"curve25519:{client.device_id}": "curvekey",
            f"ed25519:{client.device_id}": public,
        },
    }
    signed: dict[str, Any] = sign_json(keys, client.user_id, key)
    return signed


def cross_signing_key(user_id: str, usage: str, signer: Any = None) -> tuple[Any, dict[str, Any]]:
    key = generate_signing_key("x")
    public = encode_base64(get_verify_key(key).encode())
    key.version = public  # cross-signing keys are named by their public key
    body: dict[str, Any] = {
        "user_id": user_id,
        "usage": [usage],
        "keys": {f"ed25519:{public}": public},
    }
    if signer is not None:
        body = sign_json(body, user_id, signer)
    return key, body


async def upload_cross_signing_keys(user: UserClient) -> tuple[Any, Any, dict[str, Any]]:
    """Upload a master, self-signing and user-signing key for `user`; returns the self- and
    user-signing signers and the uploaded body."""
    master, master_body = cross_signing_key(user.user_id, "master")
    self_signing, self_body = cross_signing_key(user.user_id, "self_signing", signer=master)
    user_signing, user_body = cross_signing_key(user.user_id, "user_signing", signer=master)
    upload = {
        "master_key": master_body,
        "self_signing_key": self_body,
        "user_signing_key": user_body,
    }
    assert (await user.post("/keys/device_signing/upload", json=upload)).status_code == 200
    return self_signing, user_signing, upload


async def test_upload_query_and_claim(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    await alice.put(f"/devices/{alice.device_id}", json={"display_name": "Alice phone"})
    body = {
        "device_keys": device_keys(alice),
        "one_time_keys": {
            "signed_curve25519:AAAA": {"key": "k1", "signatures": {}},
            "signed_curve25519:AAAB": {"key": "k2", "signatures": {}},
        },
        "fallback_keys": {
            "signed_curve25519:FFFF": {"key": "fb", "fallback": True, "signatures": {}}
        },
    }
    resp = await alice.post("/keys/upload", json=body)
    assert resp.json() == {"one_time_key_counts": {"signed_curve25519": 2}}
    sync = await alice.sync()
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 2}
    assert sync["device_unused_fallback_key_types"] == ["signed_curve25519"]

    query = (await bob.post("/keys/query", json={"device_keys": {alice.user_id: []}})).json()
    device = query["device_keys"][alice.user_id][alice.device_id]
    assert device["keys"] == body["device_keys"]["keys"]
    assert device["unsigned"] == {"device_display_name": "Alice phone"}
    only = {"device_keys": {alice.user_id: ["NOSUCHDEVICE"]}}
    assert (await bob.post("/keys/query", json=only)).json()["device_keys"] == {alice.user_id: {}}
    remote = (await bob.post("/keys/query", json={"device_keys": {"@x:elsewhere.org": []}})).json()
    assert "elsewhere.org" in remote["failures"]

    claim = {
        "one_time_keys": {
            alice.user_id: {alice.device_id: "signed_curve25519", "GHOST": "signed_curve25519"}
        }
    }
    claimed = []
    for _ in range(4):
        result = (await bob.post("/keys/claim", json=claim)).json()["one_time_keys"]
        assert "GHOST" not in result.get(alice.user_id, {})  # unknown devices are left out
        claimed.append(next(iter(result[alice.user_id][alice.device_id])))
    # Two one-time keys, then the fallback key (which stays available).
    assert claimed == [
        "signed_curve25519:AAAA",
        "signed_curve25519:AAAB",
        "signed_curve25519:FFFF",
        "signed_curve25519:FFFF",
    ]
    sync = await alice.sync()
    assert sync["device_one_time_keys_count"] == {}
    assert sync["device_unused_fallback_key_types"] == []


async def test_upload_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    forged = device_keys(bob)
    assert errcode(await alice.post("/keys/upload", json={"device_keys": forged})) == (
        400,
        "M_INVALID_PARAM",
    )
    bad_id = {"one_time_keys": {"no-colon": {"key": "x"}}}
    assert errcode(await alice.post("/keys/upload", json=bad_id)) == (400, "M_INVALID_PARAM")
    assert errcode(await alice.post("/keys/query", json={"device_keys": []})) == (400, "M_BAD_JSON")
    assert errcode(await alice.post("/keys/claim", json={})) == (400, "M_BAD_JSON")
    assert errcode(await alice.get("/keys/changes", params={"from": "s0"})) == (
        400,
        "M_MISSING_PARAM",
    )


async def test_device_list_changes_reach_room_members_only(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    alice_token = (await alice.sync())["next_batch"]
    carol_token = (await carol.sync())["next_batch"]
    assert (
        await bob.post("/keys/upload", json={"device_keys": device_keys(bob)})
    ).status_code == 200
    alice_sync = await alice.sync(since=alice_token)
    assert bob.user_id in alice_sync["device_lists"]["changed"]
    assert bob.user_id not in (await carol.sync(since=carol_token))["device_lists"]["changed"]
    changes = (
        await alice.get(
            "/keys/changes", params={"from": alice_token, "to": alice_sync["next_batch"]}
        )
    ).json()
    assert bob.user_id in changes["changed"]
    # Bob leaves: alice no longer shares a room with him and is told so.
    await bob.post(f"/rooms/{room_id}/leave", json={})
    after_leave = await alice.sync(since=alice_sync["next_batch"])
    assert after_leave["device_lists"]["left"] == [bob.user_id]
    # A new device of bob (login) then a logout changes his list again; alice is not told
    # any more, bob's own other device is.
    bob_laptop = await hs.login("bob")
    bob_token = (await bob.sync())["next_batch"]
    await bob_laptop.post("/logout")
    assert bob.user_id in (await bob.sync(since=bob_token))["device_lists"]["changed"]


async def test_new_keys_and_their_change_notice_commit_together(
    hs: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device's keys are never stored without the change that tells its peers to fetch
    them: if recording the change fails, the keys are not kept either, so the client's retry
    (the same keys) is a change again and the peers hear of it. Were the keys kept alone, the
    retry would find them unchanged, and alice's client would never encrypt for bob's device."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    since = (await alice.sync())["next_batch"]
    keys = device_keys(bob)

    async def fails(*_args: object) -> None:
        raise OSError("the disk went away")

    monkeypatch.setattr(SqlKeyStore, "record_device_list_change", fails)
    refused = await bob.post("/keys/upload", json={"device_keys": keys})
    assert refused.status_code == 500
    query = {"device_keys": {bob.user_id: []}}
    stored = (await alice.post("/keys/query", json=query)).json()["device_keys"]
    assert stored[bob.user_id] == {}
    monkeypatch.undo()

    assert (await bob.post("/keys/upload", json={"device_keys": keys})).status_code == 200
    assert bob.user_id in (await alice.sync(since=since))["device_lists"]["changed"]
    stored = (await alice.post("/keys/query", json=query)).json()["device_keys"]
    assert stored[bob.user_id][bob.device_id]["keys"] == keys["keys"]


async def test_cross_signing_and_signatures(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    device_signing = generate_signing_key(alice.device_id)
    await alice.post("/keys/upload", json={"device_keys": device_keys(alice, device_signing)})
    self_signing, user_signing, uploaded = await upload_cross_signing_keys(alice)
    self_body, master_body = uploaded["self_signing_key"], uploaded["master_key"]

    # Sign alice's device with her self-signing key.
    signed_device = sign_json(device_keys(alice, device_signing), alice.user_id, self_signing)
    resp = await alice.post(
        "/keys/signatures/upload", json={alice.user_id: {alice.device_id: signed_device}}
    )
    assert resp.json() == {"failures": {}}
    query = (await bob.post("/keys/query", json={"device_keys": {alice.user_id: []}})).json()
    ssk_id = next(iter(self_body["keys"]))
    device = query["device_keys"][alice.user_id][alice.device_id]
    assert ssk_id in device["signatures"][alice.user_id]
    assert query["master_keys"][alice.user_id]["keys"] == master_body["keys"]
    assert alice.user_id in query["self_signing_keys"]
    assert "user_signing_keys" not in query or alice.user_id not in query["user_signing_keys"]
    mine = (await alice.post("/keys/query", json={"device_keys": {alice.user_id: []}})).json()
    assert alice.user_id in mine["user_signing_keys"]

    # Alice vouches for bob's master key with her user-signing key.
    _, bob_master = cross_signing_key(bob.user_id, "master")
    assert (
        await bob.post("/keys/device_signing/upload", json={"master_key": bob_master})
    ).status_code == 200
    bob_master_public = next(iter(bob_master["keys"].values()))
    vouch = sign_json(dict(bob_master), alice.user_id, user_signing)
    resp = await alice.post(
        "/keys/signatures/upload", json={bob.user_id: {bob_master_public: vouch}}
    )
    assert resp.json() == {"failures": {}}
    seen = (await alice.post("/keys/query", json={"device_keys": {bob.user_id: []}})).json()
    assert alice.user_id in seen["master_keys"][bob.user_id]["signatures"]

    # A forged signature (signed by some other key) is refused, per key.
    forged = sign_json(device_keys(alice, device_signing), alice.user_id, generate_signing_key("z"))
    resp = await alice.post(
        "/keys/signatures/upload", json={alice.user_id: {alice.device_id: forged}}
    )
    assert (
        resp.json()["failures"][alice.user_id][alice.device_id]["errcode"] == "M_INVALID_SIGNATURE"
    )

    # A self-signing key not signed by the master key is refused.
    _, unsigned_ssk = cross_signing_key(alice.user_id, "self_signing")
    resp = await alice.post("/keys/device_signing/upload", json={"self_signing_key": unsigned_ssk})
    assert errcode(resp) == (400, "M_INVALID_SIGNATURE")
    # Replacing the master key needs the password.
    _, other_master = cross_signing_key(alice.user_id, "master")
    resp = await alice.post("/keys/device_signing/upload", json={"master_key": other_master})
    assert resp.status_code == 401
    assert resp.json()["flows"] == [{"stages": ["m.login.password"]}]
    auth = {"type": "m.login.password", "user": "alice", "password": PASSWORD}
    resp = await alice.post(
        "/keys/device_signing/upload", json={"master_key": other_master, "auth": auth}
    )
    assert resp.status_code == 200


async def test_user_signing_signatures_are_visible_only_to_their_signer(hs: Homeserver) -> None:
    """spec (cross-signing): "Dotted boxes and lines represent keys and signatures that are only
    visible to the user who created them" (the user-signing key and what it signs), while the
    self-signing key's signatures on devices stay public."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    _, user_signing, _ = await upload_cross_signing_keys(alice)

    bob_master_signer, bob_master = cross_signing_key(bob.user_id, "master")
    bob_ssk_signer, bob_ssk = cross_signing_key(
        bob.user_id, "self_signing", signer=bob_master_signer
    )
    upload = {"master_key": bob_master, "self_signing_key": bob_ssk}
    assert (await bob.post("/keys/device_signing/upload", json=upload)).status_code == 200
    bob_device_signer = generate_signing_key(bob.device_id)
    bob_device = device_keys(bob, bob_device_signer)
    assert (await bob.post("/keys/upload", json={"device_keys": bob_device})).status_code == 200
    signed_device = sign_json(dict(bob_device), bob.user_id, bob_ssk_signer)
    resp = await bob.post(
        "/keys/signatures/upload", json={bob.user_id: {bob.device_id: signed_device}}
    )
    assert resp.json() == {"failures": {}}

    # Alice vouches for bob's master key with her user-signing key.
    bob_master_public = next(iter(bob_master["keys"].values()))
    vouch = sign_json(dict(bob_master), alice.user_id, user_signing)
    resp = await alice.post(
        "/keys/signatures/upload", json={bob.user_id: {bob_master_public: vouch}}
    )
    assert resp.json() == {"failures": {}}

    bob_ssk_id = next(iter(bob_ssk["keys"]))
    for viewer, sees_vouch in ((alice, True), (bob, False), (carol, False)):
        query = {"device_keys": {bob.user_id: []}}
        seen = (await viewer.post("/keys/query", json=query)).json()
        signers = set(seen["master_keys"][bob.user_id].get("signatures", {}))
        assert (alice.user_id in signers) is sees_vouch, viewer.user_id
        # Bob's own signatures are public: his master key's on his self-signing key, and
        # his self-signing key's on his device.
        assert bob.user_id in seen["self_signing_keys"][bob.user_id]["signatures"]
        device = seen["device_keys"][bob.user_id][bob.device_id]
        assert bob_ssk_id in device["signatures"][bob.user_id], viewer.user_id


def one_time_keys(*key_ids: str) -> dict[str, Any]:
    """A `one_time_keys` upload body listing `key_ids` in this order (JSON keeps it)."""
    return {f"signed_curve25519:{k}": {"key": f"key-{k}", "signatures": {}} for k in key_ids}


async def claim_one(claimer: UserClient, owner: UserClient) -> str | None:
    """The key ID one `/keys/claim` hands out for `owner`'s device, None when it has none."""
    body = {"one_time_keys": {owner.user_id: {owner.device_id: "signed_curve25519"}}}
    resp = await claimer.post("/keys/claim", json=body)
    assert resp.status_code == 200
    found = resp.json()["one_time_keys"].get(owner.user_id, {}).get(owner.device_id)
    if found is None:
        return None
    ((full_id, key),) = found.items()
    key_id = full_id.removeprefix("signed_curve25519:")
    assert key == {"key": f"key-{key_id}", "signatures": {}}  # the key uploaded under that ID
    return key_id


async def test_claim_hands_out_one_time_keys_in_upload_order(hs: Homeserver) -> None:
    """Spec v1.13 (MSC4225), POST /keys/claim: "One-time keys are given out in the order that
    they were uploaded via /keys/upload. (All keys uploaded within a given call to
    /keys/upload are considered equivalent in this regard; no ordering is specified within
    them.)" Key IDs are chosen to sort differently from the upload order. Within one call
    the spec leaves the order free; Bastion keeps the order the call lists them in, which is
    asserted here too."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    first = await alice.post(
        "/keys/upload", json={"one_time_keys": one_time_keys("AAAAMM", "AAAAAB")}
    )
    assert first.json() == {"one_time_key_counts": {"signed_curve25519": 2}}
    second = await alice.post(
        "/keys/upload", json={"one_time_keys": one_time_keys("AAAAZZ", "AAAAAA")}
    )
    assert second.json() == {"one_time_key_counts": {"signed_curve25519": 4}}

    assert [await claim_one(bob, alice) for _ in range(2)] == ["AAAAMM", "AAAAAB"]
    # Uploaded after the remaining keys, and re-uploading a key still held keeps its place.
    again = {"one_time_keys": one_time_keys("AAAAAC", "AAAAZZ")}
    assert (await alice.post("/keys/upload", json=again)).json() == {
        "one_time_key_counts": {"signed_curve25519": 3}
    }
    claimed = [await claim_one(bob, alice) for _ in range(4)]
    assert claimed == ["AAAAZZ", "AAAAAA", "AAAAAC", None]

    # Once every key is gone, a new upload starts the order afresh.
    await alice.post("/keys/upload", json={"one_time_keys": one_time_keys("AAAAYY")})
    await alice.post("/keys/upload", json={"one_time_keys": one_time_keys("AAAAAD")})
    assert [await claim_one(bob, alice) for _ in range(3)] == ["AAAAYY", "AAAAAD", None]


async def test_claim_orders_each_algorithm_by_its_own_uploads(hs: Homeserver) -> None:
    """Claims ask for one algorithm; keys of another algorithm uploaded in between do not
    disturb the upload order of the one asked for."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    other = {"curve25519:AAAAAA": "plain"}
    await alice.post("/keys/upload", json={"one_time_keys": {**other, **one_time_keys("AAAAZZ")}})
    await alice.post("/keys/upload", json={"one_time_keys": one_time_keys("AAAAAB")})
    assert [await claim_one(bob, alice) for _ in range(3)] == ["AAAAZZ", "AAAAAB", None]
    body = {"one_time_keys": {alice.user_id: {alice.device_id: "curve25519"}}}
    result = (await bob.post("/keys/claim", json=body)).json()["one_time_keys"]
    assert result == {alice.user_id: {alice.device_id: other}}


async def test_concurrent_claims_never_hand_out_a_key_twice(hs: Homeserver) -> None:
    """POST /keys/claim: "Servers must ensure that each one-time key is returned at most once,
    so when a key has been returned, no other request will ever return the same key." Many
    claims at once (several connections on PostgreSQL), then claims until none is left: every
    key comes out exactly once."""
    alice = await hs.register_user("alice")
    claimers = [await hs.register_user(f"claimer{i}") for i in range(3)]
    uploaded = [f"KEY{i:03d}" for i in range(12)]
    await alice.post("/keys/upload", json={"one_time_keys": one_time_keys(*uploaded)})

    racing = await asyncio.gather(*(claim_one(claimers[i % 3], alice) for i in range(18)))
    handed = [k for k in racing if k is not None]
    assert len(handed) == len(set(handed))
    while (key := await claim_one(claimers[0], alice)) is not None:
        handed.append(key)
    assert sorted(handed) == uploaded
    assert (await alice.post("/keys/upload", json={})).json() == {"one_time_key_counts": {}}
