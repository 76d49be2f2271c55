"""The HTTP edge: discovery endpoints, routing errors, body parsing, size limit, CORS."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.config import HttpConfig
from tests.conftest import Homeserver


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"http": HttpConfig(max_request_body_bytes=4096)}


async def test_versions_and_well_known(hs: Homeserver) -> None:
    resp = await hs.http.get("/_matrix/client/versions")
    assert resp.status_code == 200
    # Every version up to the newest claimed: a client reads the list, not a range.
    assert resp.json()["versions"] == [f"v1.{minor}" for minor in range(1, 19)]
    resp = await hs.http.get("/.well-known/matrix/client")
    assert resp.json()["m.homeserver"]["base_url"].startswith("http")


async def test_capabilities_need_a_token_and_list_room_versions(hs: Homeserver) -> None:
    resp = await hs.http.get("/_matrix/client/v3/capabilities")
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    alice = await hs.register_user("alice")
    caps = (await alice.get("/capabilities")).json()["capabilities"]
    assert caps["m.change_password"] == {"enabled": True}
    assert caps["m.room_versions"]["default"] == "12"


async def test_unknown_endpoint_is_404_unrecognized(hs: Homeserver) -> None:
    resp = await hs.http.get("/_matrix/client/v3/no/such/thing")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_UNRECOGNIZED")


async def test_wrong_method_is_405_unrecognized(hs: Homeserver) -> None:
    resp = await hs.http.delete("/_matrix/client/v3/login")
    assert (resp.status_code, resp.json()["errcode"]) == (405, "M_UNRECOGNIZED")


async def test_malformed_json_is_not_json(hs: Homeserver) -> None:
    resp = await hs.http.post("/_matrix/client/v3/login", content=b'{"type": ')
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_NOT_JSON")


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"text"',
        b'{"type": 5}',
        b'{"identifier": {}}',
        b'{"type": "m.login.password", "password": 1}',
    ],
)
async def test_wrong_shape_is_bad_json(hs: Homeserver, body: bytes) -> None:
    resp = await hs.http.post("/_matrix/client/v3/login", content=body)
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")


async def test_body_over_the_limit_is_413(hs: Homeserver) -> None:
    big = b'{"type": "m.login.password", "password": "' + b"x" * 5000 + b'"}'
    resp = await hs.http.post("/_matrix/client/v3/login", content=big)
    assert (resp.status_code, resp.json()["errcode"]) == (413, "M_TOO_LARGE")


async def test_streamed_body_over_the_limit_is_413(hs: Homeserver) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    resp = await hs.http.post("/_matrix/client/v3/login", content=chunks())
    assert (resp.status_code, resp.json()["errcode"]) == (413, "M_TOO_LARGE")


async def test_bad_and_missing_tokens(hs: Homeserver) -> None:
    resp = await hs.http.get("/_matrix/client/v3/account/whoami")
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    resp = await hs.http.get(
        "/_matrix/client/v3/account/whoami", headers={"Authorization": "Bearer bst_nope"}
    )
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # Spec v1.20: "Sending the access token as a query string parameter is no longer
    # supported", so it counts as no token at all.
    resp = await hs.http.get("/_matrix/client/v3/account/whoami?access_token=bst_nope")
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")


async def test_cors_headers_and_preflight(hs: Homeserver) -> None:
    resp = await hs.http.options(
        "/_matrix/client/v3/login",
        headers={"Origin": "https://app.element.io", "Access-Control-Request-Method": "POST"},
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in resp.headers["access-control-allow-headers"]
    resp = await hs.http.get("/_matrix/client/v3/no/such/thing")
    assert resp.headers["access-control-allow-origin"] == "*"
    # the spec's five, and (v1.13) the other methods served: SCIM's PATCH, HEAD on GET routes
    methods = set(resp.headers["access-control-allow-methods"].split(", "))
    assert methods == {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


async def test_r0_prefix_serves_the_same_endpoints(hs: Homeserver) -> None:
    resp = await hs.http.get("/_matrix/client/r0/login")
    assert resp.json()["flows"] == [{"type": "m.login.password"}]
