"""SCIM Users (RFC 7644 §3) as identity providers really drive them (issue #12 §3)."""

from __future__ import annotations

import asyncio

from scim2_models import EnterpriseUser, User

from tests.api.scim.scim_helpers import (
    ENTERPRISE,
    ERROR,
    SCIM_JSON,
    USER,
    Scim,
    asgi_scim_client,
    audit_records,
    created,
    fetched,
    scim_token,
    searched,
)
from tests.conftest import Homeserver, errcode

LONG_PASSWORD = "a long enough password 42"


async def test_create_read_and_filter_with_scim2_client(hs: Homeserver) -> None:
    """ "Users (create with `userName` → localpart, `displayName`, `active`, optional `password`,
    `externalId`, enterprise extension `manager`; get; list with `filter` (`userName eq`,
    `externalId eq`, `active eq`) and `startIndex`/`count`"."""
    client = asgi_scim_client(hs, await scim_token(hs))
    await client.discover()
    boss = await created(client, User[EnterpriseUser](user_name="Boss@contoso.com"))
    assert boss.id == "boss"
    alice_resource = await created(
        client,
        User[EnterpriseUser].model_validate(
            {
                "schemas": [USER, ENTERPRISE],
                "userName": "Alice@contoso.com",
                "displayName": "Alice Example",
                "externalId": "entra-0001",
                "active": True,
                "password": LONG_PASSWORD,
                ENTERPRISE: {"manager": {"value": "boss", "$ref": "../Users/boss"}},
            }
        ),
    )
    assert alice_resource.id == "alice"
    assert alice_resource.user_name == "Alice@contoso.com"
    manager = alice_resource[EnterpriseUser].manager
    assert manager is not None
    assert manager.value == "boss"
    account = await hs.runtime.services.accounts.get_user(f"@alice:{hs.server_name}")
    assert account.manager == f"@boss:{hs.server_name}"
    alice = await hs.login("alice", LONG_PASSWORD)  # the password works
    profile = await alice.get(f"/profile/{alice.user_id}/displayname")
    assert profile.json()["displayname"] == "Alice Example"

    alice_again = await fetched(client, User[EnterpriseUser], "alice")
    assert alice_again.external_id == "entra-0001"
    assert alice_again.meta is not None
    assert str(alice_again.meta.location).endswith("/scim/v2/Users/alice")
    for scim_filter in ('userName eq "alice@contoso.com"', 'externalId eq "entra-0001"'):
        found = await searched(client, User[EnterpriseUser], scim_filter)
        assert [r.id for r in found.resources or []] == ["alice"], scim_filter
    active = await searched(client, User[EnterpriseUser], "active eq true")
    assert sorted(str(r.id) for r in active.resources or []) == ["alice", "boss"]
    page = await searched(client, User[EnterpriseUser], start_index=2, count=1)
    assert [r.id for r in page.resources or []] == ["boss"]
    assert (page.total_results, page.start_index) == (2, 2)
    (record, _) = await audit_records(hs, "scim.user.create")
    assert (record["kind"], record["actor"], record["outcome"]) == (
        "scim_client",
        "okta",
        "success",
    )


async def test_entra_id_patch_deactivates_and_ends_sessions_at_once(hs: Homeserver) -> None:
    """Entra ID: capitalised ops (`"Replace"`) and `"active": "False"` as a string; "the PATCH
    must offboard at once" and "a /sync waiting for that user returns 401 `M_UNKNOWN_TOKEN` at
    once"."""
    scim = Scim(hs, await scim_token(hs, "entra"))
    await scim.create_user("bob@contoso.com", password=LONG_PASSWORD)
    bob = await hs.login("bob", LONG_PASSWORD)
    since = (await bob.sync())["next_batch"]
    waiting = asyncio.ensure_future(bob.get("/sync", params={"since": since, "timeout": "600000"}))
    await hs.wait_for_waiting_syncs(1)
    resp = await scim.patch("/Users/bob", {"op": "Replace", "path": "active", "value": "False"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(SCIM_JSON)
    assert resp.json()["active"] is False
    assert errcode(await waiting) == (401, "M_UNKNOWN_TOKEN")
    assert errcode(await bob.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    (offboarded,) = await audit_records(hs, "user.offboard")
    assert (offboarded["kind"], offboarded["actor"]) == ("scim_client", "entra")
    (update,) = await audit_records(hs, "scim.user.update")
    assert update["details"]["changed"] == ["active"]


async def test_okta_pathless_patch_and_reactivation(hs: Homeserver) -> None:
    """Okta's path-less `{"op": "replace", "value": {"active": false}}`; "`active: true` again
    reactivates" (with the password sent alongside, never the old one: docs/governance.md)."""
    scim = Scim(hs, await scim_token(hs))
    await scim.create_user("carol", password=LONG_PASSWORD)
    room_owner = await hs.register_user("dave")
    room = await room_owner.create_room(preset="public_chat")
    carol = await hs.login("carol", LONG_PASSWORD)
    await carol.join(room)
    resp = await scim.patch("/Users/carol", {"op": "replace", "value": {"active": False}})
    assert resp.json()["active"] is False
    assert errcode(await carol.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    members = await room_owner.get(f"/rooms/{room}/joined_members")
    assert f"@carol:{hs.server_name}" not in members.json()["joined"]

    resp = await scim.patch("/Users/carol", {"op": "replace", "value": {"active": True}})
    assert resp.json()["active"] is True
    refused = await hs.http.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "carol", "password": LONG_PASSWORD},
    )
    assert errcode(refused) == (403, "M_FORBIDDEN")  # the old password did not come back
    new_password = "another long password 43"
    resp = await scim.patch(
        "/Users/carol", {"op": "replace", "path": "password", "value": new_password}
    )
    assert resp.status_code == 200, resp.text
    await hs.login("carol", new_password)


async def test_put_replaces_and_entra_sets_the_manager_by_id(hs: Homeserver) -> None:
    """ "PUT" and Entra's manager PATCH (`"Add"` with the manager's id as a bare string)."""
    scim = Scim(hs, await scim_token(hs))
    await scim.create_user("erin")
    await scim.create_user("frank", displayName="Frank")
    resp = await scim.patch(
        "/Users/frank", {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "erin"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()[ENTERPRISE]["manager"]["value"] == "erin"
    resp = await scim.request(
        "PUT",
        "/Users/frank",
        {"schemas": [USER], "userName": "frank", "displayName": "Franklin", "active": True},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["displayName"] == "Franklin"
    assert ENTERPRISE not in body  # PUT replaces: the manager it left out is gone
    account = await hs.runtime.services.accounts.get_user(f"@frank:{hs.server_name}")
    assert account.manager is None


async def test_delete_offboards_and_forgets(hs: Homeserver) -> None:
    """ "DELETE = offboard"; RFC 7644 §3.6: the service "MUST return a 404 (Not Found) error
    code for all operations associated with the previously deleted resource"."""
    scim = Scim(hs, await scim_token(hs))
    await scim.create_user("gina", password=LONG_PASSWORD)
    gina = await hs.login("gina", LONG_PASSWORD)
    resp = await scim.request("DELETE", "/Users/gina")
    assert resp.status_code == 204
    assert errcode(await gina.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    for method in ("GET", "DELETE"):
        gone = await scim.request(method, "/Users/gina")
        assert gone.status_code == 404
        assert gone.json()["schemas"] == [ERROR]
    again = await scim.request("POST", "/Users", {"schemas": [USER], "userName": "gina"})
    assert again.json()["scimType"] == "uniqueness"  # a Matrix user ID is never reused


async def test_errors_have_the_rfc_7644_shape(hs: Homeserver) -> None:
    """RFC 7644 §3.12: errors are `urn:ietf:params:scim:api:messages:2.0:Error` with `status`
    as a string and, for 400/409, a `scimType`."""
    scim = Scim(hs, await scim_token(hs))
    await scim.create_user("hank")
    cases = [
        (await scim.request("POST", "/Users", {"schemas": [USER], "userName": "hank"}), 409,
         "uniqueness"),
        (await scim.request("GET", "/Users/nobody"), 404, None),
        (await scim.request("GET", "/Users", params={"filter": "userName eq"}), 400,
         "invalidFilter"),
        (await scim.request("POST", "/Users", {"schemas": [USER], "userName": "bad name!"}), 400,
         "invalidValue"),
        (await scim.request("POST", "/Users", {"schemas": [USER], "userName": "ok",
                                               "password": "short"}), 400, "invalidValue"),
        (await scim.http.post("/scim/v2/Users", content=b"{not json", headers=scim.headers), 400,
         "invalidSyntax"),
        (await scim.http.post("/scim/v2/Users", content=b'{"a":' * 5000 + b"1" + b"}" * 5000,
                              headers=scim.headers), 400, "invalidSyntax"),
        (await scim.http.post("/scim/v2/Users", content=b'{"userName": "a\\u0000b"}',
                              headers=scim.headers), 400, "invalidSyntax"),
        (await scim.http.post("/scim/v2/Users", content=b'{"userName": "a\\ud800b"}',
                              headers=scim.headers), 400, "invalidSyntax"),
        (await scim.http.post("/scim/v2/Users", content=b"[]", headers=scim.headers), 400,
         "invalidSyntax"),
        (await scim.patch("/Users/hank", {"op": "explode", "path": "active"}), 400, None),
        (await scim.request("GET", "/Nothing/here"), 404, None),
    ]  # fmt: skip
    for resp, status, scim_type in cases:
        body = resp.json()
        assert resp.headers["content-type"].startswith(SCIM_JSON), resp.text
        assert (resp.status_code, body["schemas"], body["status"]) == (status, [ERROR], str(status))
        if scim_type is not None:
            assert body["scimType"] == scim_type, body
    assert await hs.runtime.services.accounts.is_available("ok")  # refused, so not created
    refused = [r for r in await audit_records(hs, "scim.user.create") if r["outcome"] == "failure"]
    assert len(refused) == 3  # "a refused one is recorded as failed": taken, bad name, weak
    (patch_refused,) = await audit_records(hs, "scim.user.update")
    assert patch_refused["outcome"] == "failure"


async def test_a_scim_token_cannot_set_an_admins_password(hs: Homeserver) -> None:
    """A SCIM client "is not a server admin" (services/principal.py): setting an admin's
    password would make its token one."""
    await hs.create_user("root", admin=True)
    scim = Scim(hs, await scim_token(hs))
    resp = await scim.patch("/Users/root", {"op": "replace", "path": "password", "value": "x" * 20})
    assert (resp.status_code, resp.json()["schemas"]) == (403, [ERROR])
    await hs.login("root")  # the old password still works
    (refused,) = await audit_records(hs, "scim.user.update")
    assert refused["outcome"] == "failure"
