"""`GET`/`PUT /_synapse/admin/v2/users/{userId}` and `POST /_synapse/admin/v1/reset_password`.

Synapse: "It returns a JSON body like the following: {"name", "displayname", "threepids",
"avatar_url", "is_guest", "admin", "deactivated", "erased", "shadow_banned", "creation_ts":
1560432506, "last_seen_ts", ..., "user_type", "locked", "suspended"}" (`creation_ts` in seconds
here); PUT "Returns HTTP status code: `201` - When a new user object was created. `200` - When
a user was modified."; "`password` ... the user's password is updated and all devices are
logged out, unless `logout_devices` is set to `false`".
"""

from __future__ import annotations

from tests.api.admin.users_helpers import V2, audit_rows, root
from tests.conftest import PASSWORD, Homeserver, errcode

DETAIL_FIELDS = {
    "name", "displayname", "threepids", "avatar_url", "is_guest", "admin", "deactivated",
    "erased", "shadow_banned", "creation_ts", "last_seen_ts", "appservice_id",
    "consent_server_notice_sent", "consent_version", "consent_ts", "external_ids", "user_type",
    "locked", "suspended",
}  # fmt: skip
NEW_PASSWORD = "another long enough password"


async def test_details_have_synapses_fields_and_creation_ts_in_seconds(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    resp = await admin.get(f"{V2}/{alice.user_id}")
    assert resp.status_code == 200, resp.text
    user = resp.json()
    assert set(user) >= DETAIL_FIELDS
    assert user["name"] == alice.user_id
    assert user["creation_ts"] == hs.clock.now_ms() // 1000
    assert user["last_seen_ts"] is not None
    assert (user["admin"], user["deactivated"], user["locked"]) == (False, False, False)
    missing = await admin.get(f"{V2}/@nobody:{hs.server_name}")
    assert errcode(missing) == (404, "M_NOT_FOUND")
    remote = await admin.get(f"{V2}/@alice:elsewhere.example")
    assert errcode(remote) == (400, "M_INVALID_PARAM")


async def test_put_creates_with_201_and_modifies_with_200(hs: Homeserver) -> None:
    admin = await root(hs)
    carol = f"@carol:{hs.server_name}"
    body = {
        "password": PASSWORD,
        "displayname": "Carol",
        "avatar_url": "mxc://x/y",
        "admin": False,
        "threepids": [],  # not ours: ignored
        "unknown_field": 1,
    }
    created = await admin.put(f"{V2}/{carol}", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == carol
    assert created.json()["displayname"] == "Carol"
    assert created.json()["avatar_url"] == "mxc://x/y"
    await hs.login("carol")
    modified = await admin.put(f"{V2}/{carol}", json={"displayname": "Carol B", "admin": True})
    assert modified.status_code == 200, modified.text
    assert set(modified.json()) >= DETAIL_FIELDS
    assert (modified.json()["displayname"], modified.json()["admin"]) == ("Carol B", True)
    (create,) = await audit_rows(hs, "user.create", carol)
    assert create["outcome"] == "success"
    (update,) = await audit_rows(hs, "user.update", carol)
    assert update["details"]["fields"] == ["admin", "displayname"]


async def test_put_password_logs_out_unless_asked_not_to(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    path = f"{V2}/{alice.user_id}"
    kept = await admin.put(path, json={"password": NEW_PASSWORD, "logout_devices": False})
    assert kept.status_code == 200, kept.text
    assert (await alice.get("/account/whoami")).status_code == 200
    await admin.put(path, json={"password": PASSWORD})
    assert errcode(await alice.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    await hs.login("alice")
    records = await audit_rows(hs, "user.reset_password", alice.user_id)
    assert [r["details"]["logout_devices"] for r in records] == [False, True]
    (update, _) = await audit_rows(hs, "user.update", alice.user_id)
    assert "password" in update["details"]["fields"]
    assert PASSWORD not in str(update)
    assert NEW_PASSWORD not in str(update)


async def test_admin_may_not_demote_themself(hs: Homeserver) -> None:
    admin = await root(hs)
    resp = await admin.put(f"{V2}/{admin.user_id}", json={"admin": False})
    assert resp.status_code == 400
    (failed,) = await audit_rows(hs, "user.update", admin.user_id)
    assert failed["outcome"] == "failure"


async def test_put_deactivated_ends_sessions_and_reactivation_needs_a_password(
    hs: Homeserver,
) -> None:
    """Synapse: "`deactivated` - **bool**, optional"; reactivating needs a new password
    ("Users' passwords are wiped upon account deactivation, hence the need to set a new one")."""
    admin = await root(hs)
    alice = await hs.register_user("alice")
    path = f"{V2}/{alice.user_id}"
    gone = await admin.put(path, json={"deactivated": True})
    assert gone.status_code == 200, gone.text
    assert gone.json()["deactivated"] is True
    assert errcode(await alice.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    refused = await admin.put(path, json={"deactivated": False})
    assert errcode(refused) == (400, "M_MISSING_PARAM")
    back = await admin.put(path, json={"deactivated": False, "password": NEW_PASSWORD})
    assert back.status_code == 200, back.text
    assert back.json()["deactivated"] is False
    await hs.login("alice", NEW_PASSWORD)
    both = await admin.put(path, json={"deactivated": True, "locked": True})
    assert errcode(both) == (400, "M_INVALID_PARAM")


async def test_reset_password(hs: Homeserver) -> None:
    """ "The parameter `new_password` is required. The parameter `logout_devices` is optional and
    defaults to `true`.\""""
    admin = await root(hs)
    alice = await hs.register_user("alice")
    path = f"/_synapse/admin/v1/reset_password/{alice.user_id}"
    assert errcode(await admin.post(path, json={})) == (400, "M_MISSING_PARAM")
    resp = await admin.post(path, json={"new_password": NEW_PASSWORD, "logout_devices": False})
    assert resp.status_code == 200, resp.text
    assert (await alice.get("/account/whoami")).status_code == 200
    resp = await admin.post(path, json={"new_password": NEW_PASSWORD})
    assert resp.status_code == 200
    assert errcode(await alice.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    await hs.login("alice", NEW_PASSWORD)
    records = await audit_rows(hs, "user.reset_password", alice.user_id)
    assert [r["details"]["logout_devices"] for r in records] == [False, True]
