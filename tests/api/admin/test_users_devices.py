"""One account's devices, sessions, rooms, uploads and pushers, as Synapse's Admin API answers.

Synapse: devices list `{"devices": [{"device_id", "display_name", "last_seen_ip",
"last_seen_user_agent", "last_seen_ts", "user_id", "dehydrated"}], "total": 2}`; "Delete
multiple devices ... and invalidates any access token associated with them"; joined_rooms
`{"joined_rooms": [...], "total": 2}`; media `{"media": [{"created_ts", "last_access_ts",
"media_id", "media_length", "media_type", "quarantined_by", "safe_from_quarantine",
"upload_name"}], "next_token": 3, "total": 2}` ("If neither `order_by` nor `dir` is set, the
default order is newest media on top"); pushers `{"pushers": [...], "total": 1}`.
Spec (admin.yaml getWhoIs): "This API may be restricted to only be called by the user being
looked up, or by a server admin."
"""

from __future__ import annotations

from typing import Any

from tests.api.admin.users_helpers import audit_rows, root
from tests.conftest import Homeserver, errcode

V2 = "/_synapse/admin/v2/users"
V1 = "/_synapse/admin/v1/users"


async def test_list_show_rename_and_delete_devices(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    phone = await hs.login("alice", initial_device_display_name="phone")
    base = f"{V2}/{alice.user_id}/devices"
    listed = (await admin.get(base)).json()
    assert listed["total"] == 2
    by_id = {d["device_id"]: d for d in listed["devices"]}
    assert set(by_id[phone.device_id]) == {
        "device_id", "display_name", "last_seen_ip", "last_seen_user_agent", "last_seen_ts",
        "user_id", "dehydrated",
    }  # fmt: skip
    assert by_id[phone.device_id]["display_name"] == "phone"
    assert "display_name" not in by_id[alice.device_id]  # "Absent if no name has been set"

    shown = (await admin.get(f"{base}/{phone.device_id}")).json()
    assert (shown["device_id"], shown["user_id"]) == (phone.device_id, alice.user_id)
    renamed = await admin.put(f"{base}/{phone.device_id}", json={"display_name": "old phone"})
    assert (renamed.status_code, renamed.json()) == (200, {})
    assert (await admin.get(f"{base}/{phone.device_id}")).json()["display_name"] == "old phone"
    assert errcode(await admin.get(f"{base}/NOSUCH")) == (404, "M_NOT_FOUND")

    deleted = await admin.delete(f"{base}/{phone.device_id}", json={})
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert errcode(await phone.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    many = await admin.post(
        f"{V2}/{alice.user_id}/delete_devices", json={"devices": [alice.device_id, "GONE"]}
    )
    assert many.status_code == 200, many.text
    assert errcode(await alice.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    assert (await admin.get(base)).json() == {"devices": [], "total": 0}
    deletions = await audit_rows(hs, "device.delete", alice.user_id)
    assert [r["details"]["devices"] for r in deletions] == [
        [phone.device_id],
        sorted([alice.device_id, "GONE"]),
    ]
    assert len(await audit_rows(hs, "device.rename", alice.user_id)) == 1
    unknown = await admin.get(f"{V2}/@nobody:{hs.server_name}/devices")
    assert errcode(unknown) == (404, "M_NOT_FOUND")


async def test_whois_for_admins_and_for_oneself(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    synapse = await admin.get(f"/_synapse/admin/v1/whois/{alice.user_id}")
    assert synapse.status_code == 200, synapse.text
    body = synapse.json()
    assert body["user_id"] == alice.user_id
    (connection,) = body["devices"][alice.device_id]["sessions"][0]["connections"]
    assert set(connection) == {"ip", "last_seen"}
    for prefix in ("/_matrix/client/v3", "/_matrix/client/r0"):
        own = await alice.get(f"{prefix}/admin/whois/{alice.user_id}")
        assert own.status_code == 200, own.text
        assert own.json() == body
        other = await bob.get(f"{prefix}/admin/whois/{alice.user_id}")
        assert errcode(other) == (403, "M_FORBIDDEN")
        assert (await admin.get(f"{prefix}/admin/whois/{alice.user_id}")).json() == body


async def test_joined_rooms(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    first = await alice.create_room()
    second = await alice.create_room()
    left = await alice.create_room()
    assert (await alice.post(f"/rooms/{left}/leave", json={})).status_code == 200
    resp = await admin.get(f"{V1}/{alice.user_id}/joined_rooms")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"joined_rooms": sorted([first, second]), "total": 2}


async def test_media_list_newest_first_with_paging(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    ids = []
    for n in range(3):
        uploaded = await hs.http.post(
            f"/_matrix/media/v3/upload?filename=f{n}.txt",
            content=b"x" * (n + 1),
            headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "text/plain"},
        )
        assert uploaded.status_code == 200, uploaded.text
        ids.append(uploaded.json()["content_uri"].rsplit("/", 1)[1])
        hs.clock.advance(1)
    path = f"{V1}/{alice.user_id}/media"
    page = (await admin.get(path, params={"limit": "2"})).json()
    assert page["total"] == 3
    assert page["next_token"] == 2
    assert [m["media_id"] for m in page["media"]] == [ids[2], ids[1]]
    assert set(page["media"][0]) == {
        "created_ts", "last_access_ts", "media_id", "media_length", "media_type",
        "quarantined_by", "safe_from_quarantine", "upload_name",
    }  # fmt: skip
    assert (page["media"][0]["media_length"], page["media"][0]["upload_name"]) == (3, "f2.txt")
    rest = (await admin.get(path, params={"limit": "2", "from": "2"})).json()
    assert [m["media_id"] for m in rest["media"]] == [ids[0]]
    assert "next_token" not in rest
    by_size = (await admin.get(path, params={"order_by": "media_length"})).json()
    assert [m["media_id"] for m in by_size["media"]] == ids
    bad = await admin.get(path, params={"order_by": "sha256"})
    assert errcode(bad) == (400, "M_INVALID_PARAM")
    assert errcode(await admin.get(path, params={"from": "-1"})) == (400, "M_INVALID_PARAM")


async def test_pushers(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    body: dict[str, Any] = {
        "kind": "http",
        "app_id": "com.example.app",
        "pushkey": "key-1",
        "app_display_name": "Example",
        "device_display_name": "Alice's phone",
        "lang": "en",
        "data": {"url": "https://matrix.org/_matrix/push/v1/notify"},
    }
    assert (await alice.post("/pushers/set", json=body)).status_code == 200
    resp = await admin.get(f"{V1}/{alice.user_id}/pushers")
    assert resp.status_code == 200, resp.text
    assert resp.json()["total"] == 1
    (pusher,) = resp.json()["pushers"]
    assert set(pusher) == {
        "app_display_name", "app_id", "data", "device_display_name", "kind", "lang",
        "profile_tag", "pushkey",
    }  # fmt: skip
    assert (pusher["pushkey"], pusher["data"]["url"]) == ("key-1", body["data"]["url"])


async def test_creating_a_device_without_a_session(hs: Homeserver) -> None:
    """Synapse: "Creates a new device for a specific `user_id` and `device_id`. Does nothing if
    the `device_id` exists already. An empty JSON dict is returned." The device is listed, has
    no access token, and alice's peers hear of it (a device-list change); audited once."""
    admin = await root(hs)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    await bob.join(room_id)
    since = (await bob.sync())["next_batch"]
    base = f"{V2}/{alice.user_id}/devices"

    created = await admin.post(base, json={"device_id": "BRIDGE"})
    assert (created.status_code, created.json()) == (201, {})
    again = await admin.post(base, json={"device_id": "BRIDGE"})
    assert (again.status_code, again.json()) == (201, {})
    listed = {d["device_id"] for d in (await admin.get(base)).json()["devices"]}
    assert listed == {alice.device_id, "BRIDGE"}
    tokens = await hs.runtime.db.fetch_val(
        "SELECT COUNT(*) FROM access_tokens WHERE user_id = ? AND device_id = 'BRIDGE'",
        alice.user_id,
    )
    assert int(tokens) == 0
    assert alice.user_id in (await bob.sync(since=since))["device_lists"]["changed"]
    records = await audit_rows(hs, "device.create", alice.user_id)
    assert [(r["outcome"], r["details"]["device_id"]) for r in records] == [("success", "BRIDGE")]


async def test_creating_a_device_refusals(hs: Homeserver) -> None:
    """A missing or non-string device_id, a device ID that is not printable ASCII, an unknown
    or deactivated account, and a non-admin: clear errors, no device."""
    admin = await root(hs)
    alice = await hs.register_user("alice")
    base = f"{V2}/{alice.user_id}/devices"
    assert errcode(await admin.post(base, json={})) == (400, "M_BAD_JSON")
    assert errcode(await admin.post(base, json={"device_id": ""})) == (400, "M_MISSING_PARAM")
    assert errcode(await admin.post(base, json={"device_id": 7})) == (400, "M_BAD_JSON")
    bad_id = await admin.post(base, json={"device_id": "with space\n"})
    assert errcode(bad_id) == (400, "M_INVALID_PARAM")
    nobody = await admin.post(f"{V2}/@nobody:test.bastion/devices", json={"device_id": "X"})
    assert errcode(nobody) == (404, "M_NOT_FOUND")
    assert errcode(await alice.post(base, json={"device_id": "X"})) == (403, "M_FORBIDDEN")
    carol = await hs.register_user("carol")
    resp = await admin.post(f"/_synapse/admin/v1/deactivate/{carol.user_id}", json={})
    assert resp.status_code == 200, resp.text
    gone = await admin.post(f"{V2}/{carol.user_id}/devices", json={"device_id": "X"})
    assert errcode(gone) == (403, "M_FORBIDDEN")
    assert {d["device_id"] for d in (await admin.get(base)).json()["devices"]} == {alice.device_id}
