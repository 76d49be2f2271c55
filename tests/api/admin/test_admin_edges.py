"""Details of the admin APIs that the existing web UIs depend on (issue #12 §1): "an admin endpoint
we do not implement answers 404 M_UNRECOGNIZED, never 403 (the UIs read 401/403 as 'logged out')";
"`v1/server_version` stays public as in Synapse, since the UIs call it before login"."""

from __future__ import annotations

import pytest

from tests.conftest import Homeserver, errcode


@pytest.mark.parametrize(
    "path",
    [
        "/_synapse/admin/v1/users/@bob:test.bastion/login",
        "/_synapse/admin/v1/background_updates/status",
        "/_synapse/admin/v2/no_such_thing",
        "/_bastion/admin/v1/no_such_thing",
    ],
)
async def test_an_endpoint_we_do_not_implement_is_404_unrecognized_for_everyone(
    hs: Homeserver, path: str
) -> None:
    admin = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    for client in (admin, bob):
        assert errcode(await client.get(path)) == (404, "M_UNRECOGNIZED"), path
    assert errcode(await hs.http.get(path)) == (404, "M_UNRECOGNIZED")


async def test_server_version_is_public(hs: Homeserver) -> None:
    resp = await hs.http.get("/_synapse/admin/v1/server_version")
    assert resp.status_code == 200
    assert resp.json()["server_version"].startswith("Bastion")
