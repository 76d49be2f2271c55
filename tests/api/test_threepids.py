"""Third-party identifiers: Bastion binds none, and says so in the spec's terms (never 404
M_UNRECOGNIZED, which clients show as a broken server)."""

from __future__ import annotations

import pytest

from tests.conftest import Homeserver, errcode

CHANGES = ["/account/3pid", "/account/3pid/add", "/account/3pid/bind", "/account/3pid/delete",
           "/account/3pid/unbind"]  # fmt: skip
TOKEN_REQUESTS = [
    f"/_matrix/client/v3{area}/{medium}/requestToken"
    for area in ("/register", "/account/password", "/account/3pid")
    for medium in ("email", "msisdn")
]


async def test_the_list_is_empty_and_changes_are_refused(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    listed = await alice.get("/account/3pid")
    assert listed.status_code == 200
    assert listed.json() == {"threepids": []}
    # The capability tells clients not to offer changes; a change asked for anyway is refused.
    capabilities = (await alice.get("/capabilities")).json()["capabilities"]
    assert capabilities["m.3pid_changes"] == {"enabled": False}
    body = {"client_secret": "s3cret", "sid": "1", "medium": "email", "address": "a@b.example"}
    for path in CHANGES:
        assert errcode(await alice.post(path, json=body)) == (403, "M_FORBIDDEN"), path
    assert (await alice.get("/account/3pid")).json() == {"threepids": []}


async def test_without_a_token_the_account_endpoints_are_401(hs: Homeserver) -> None:
    assert errcode(await hs.http.get("/_matrix/client/v3/account/3pid")) == (401, "M_MISSING_TOKEN")
    resp = await hs.http.post("/_matrix/client/v3/account/3pid/add", json={})
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("path", TOKEN_REQUESTS)
async def test_every_request_token_is_threepid_denied(hs: Homeserver, path: str) -> None:
    """Sign-up and password reset by email or phone do not exist here (signed out: no token)."""
    body = {"client_secret": "s3cret", "email": "a@b.example", "send_attempt": 1}
    assert errcode(await hs.http.post(path, json=body)) == (403, "M_THREEPID_DENIED")
