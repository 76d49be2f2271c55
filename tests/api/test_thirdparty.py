"""Third-party lookups with no bridge offering a network (spec:
client-server-api#third-party-networks)."""

from __future__ import annotations

import pytest

from tests.conftest import Homeserver, errcode


async def test_no_protocols_while_no_bridge_is_configured(hs: Homeserver) -> None:
    """spec: `GET /thirdparty/protocols` "Fetches the overall metadata about protocols
    supported by the homeserver": a dictionary, empty when none is."""
    alice = await hs.register_user("alice")
    resp = await alice.get("/thirdparty/protocols")
    assert (resp.status_code, resp.json()) == (200, {})


@pytest.mark.parametrize(
    "path",
    ["/thirdparty/protocol/irc", "/thirdparty/location/irc", "/thirdparty/user/irc"],
)
async def test_an_unknown_protocol_is_not_found(hs: Homeserver, path: str) -> None:
    """spec: 404 "The protocol is unknown." / "No portal rooms were found." / "The Matrix
    User ID was not found.", each with errcode M_NOT_FOUND."""
    alice = await hs.register_user("alice")
    assert errcode(await alice.get(path, params={"network": "x"})) == (404, "M_NOT_FOUND")


async def test_reverse_lookups_find_nothing(hs: Homeserver) -> None:
    """spec: `GET /thirdparty/location` "Retrieve an array of third-party network locations
    from a Matrix room alias", `GET /thirdparty/user` "an array of third-party users from a
    Matrix User ID": no bridge knows any. Both parameters are required."""
    alice = await hs.register_user("alice")
    resp = await alice.get("/thirdparty/location", params={"alias": "#matrix:test"})
    assert (resp.status_code, resp.json()) == (200, [])
    resp = await alice.get("/thirdparty/user", params={"userid": alice.user_id})
    assert (resp.status_code, resp.json()) == (200, [])
    assert errcode(await alice.get("/thirdparty/location")) == (400, "M_MISSING_PARAM")
    assert errcode(await alice.get("/thirdparty/user")) == (400, "M_MISSING_PARAM")


@pytest.mark.parametrize(
    "path",
    [
        "/thirdparty/protocols",
        "/thirdparty/protocol/irc",
        "/thirdparty/location/irc",
        "/thirdparty/user/irc",
        "/thirdparty/location?alias=%23a:test",
        "/thirdparty/user?userid=@a:test",
    ],
)
async def test_lookups_need_an_access_token(hs: Homeserver, path: str) -> None:
    """spec: every third-party lookup requires authentication (`security: accessTokenBearer`)."""
    resp = await hs.http.get(f"/_matrix/client/v3{path}")
    assert errcode(resp) == (401, "M_MISSING_TOKEN")
