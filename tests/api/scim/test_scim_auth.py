"""SCIM authentication and its tokens: "Bearer-token protected; tokens made with `bastion
scim-token create --name NAME` ... stored hashed; listed and revoked by CLI and admin API"."""

from __future__ import annotations

from tests.api.scim.scim_helpers import ERROR, SCIM_JSON, Scim, audit_records, scim_token
from tests.conftest import Homeserver, errcode

TOKENS = "/_bastion/admin/v1/scim/tokens"


async def _refused(hs: Homeserver, headers: dict[str, str]) -> None:
    for path in ("/scim/v2/Users", "/scim/v2/ServiceProviderConfig"):
        resp = await hs.http.get(path, headers=headers)
        assert resp.status_code == 401, (path, resp.text)
        assert resp.headers["content-type"].startswith(SCIM_JSON)
        assert resp.json()["schemas"] == [ERROR]
        assert resp.json()["status"] == "401"
        assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_requests_without_a_valid_scim_token_are_refused(hs: Homeserver) -> None:
    """RFC 7644 §2: the service provider authenticates every request; no token, a revoked
    token and a user's Matrix access token all get 401."""
    alice = await hs.register_user("alice", admin=True)
    await _refused(hs, {})
    await _refused(hs, {"Authorization": f"Bearer {alice.token}"})
    token = await scim_token(hs, "okta")
    scim = Scim(hs, token)
    assert (await scim.request("GET", "/Users")).status_code == 200
    resp = await alice.delete(f"{TOKENS}/okta")
    assert resp.status_code == 200, resp.text
    await _refused(hs, {"Authorization": f"Bearer {token}"})
    (revoked,) = await audit_records(hs, "scim.token.revoke")
    assert (revoked["actor"], revoked["target"]) == (alice.user_id, "okta")


async def test_tokens_through_the_admin_api(hs: Homeserver) -> None:
    """`GET/POST /_bastion/admin/v1/scim/tokens`, `DELETE .../{name}`: admins only; the token
    is shown once and stored hashed."""
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    for resp in (
        await bob.get(TOKENS),
        await bob.post(TOKENS, json={"name": "x"}),
        await bob.delete(f"{TOKENS}/x"),
    ):
        assert errcode(resp) == (403, "M_FORBIDDEN")
    created = await root.post(TOKENS, json={"name": "entra"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    stored = await hs.runtime.db.fetch_val(
        "SELECT token_hash FROM scim_tokens WHERE name = ?", "entra"
    )
    assert stored is not None
    assert token not in stored
    assert (await Scim(hs, token).request("GET", "/Users")).status_code == 200
    listed = (await root.get(TOKENS)).json()
    assert [e["name"] for e in listed["entries"]] == ["entra"]
    assert listed["entries"][0]["last_used_ts"] is not None
    assert token not in str(listed)
    assert errcode(await root.post(TOKENS, json={"name": "entra"})) == (400, "M_INVALID_PARAM")
    assert errcode(await root.post(TOKENS, json={"name": "no spaces"})) == (400, "M_INVALID_PARAM")
    assert errcode(await root.delete(f"{TOKENS}/unknown")) == (404, "M_NOT_FOUND")
    records = await audit_records(hs, "scim.token.create")
    outcomes = [(r["target"], r["outcome"]) for r in records]
    assert outcomes == [("entra", "success"), ("entra", "failure"), ("no spaces", "failure")]
