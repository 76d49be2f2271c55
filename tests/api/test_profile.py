"""Profile display name and avatar URL."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.config import HttpConfig
from tests.conftest import Homeserver


async def test_set_and_get_profile(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    path = f"/profile/{alice.user_id}"
    # New accounts start with their localpart as display name.
    assert (await bob.get(path)).json() == {"displayname": "alice"}
    assert (
        await alice.put(f"{path}/displayname", json={"displayname": "Dr Alicja Żółć"})
    ).status_code == 200
    assert (
        await alice.put(f"{path}/avatar_url", json={"avatar_url": "mxc://test.bastion/abc"})
    ).status_code == 200
    assert (await bob.get(path)).json() == {
        "displayname": "Dr Alicja Żółć",
        "avatar_url": "mxc://test.bastion/abc",
    }
    assert (await bob.get(f"{path}/displayname")).json() == {"displayname": "Dr Alicja Żółć"}
    assert (await bob.get(f"{path}/avatar_url")).json() == {"avatar_url": "mxc://test.bastion/abc"}


async def test_profile_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    resp = await bob.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "hacked"})
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    resp = await alice.get("/profile/@nobody:test.bastion")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    resp = await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "x" * 300})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM")
    resp = await alice.put(
        f"/profile/{alice.user_id}/avatar_url", json={"avatar_url": "https://evil.example/x.png"}
    )
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM")
    resp = await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": 42})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")
    # Profiles are private to the organisation by default.
    resp = await hs.http.get(f"/_matrix/client/v3/profile/{alice.user_id}")
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")


class TestPublicProfiles:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"http": HttpConfig(require_auth_for_profile=False)}

    async def test_profile_readable_without_token_when_configured(self, hs: Homeserver) -> None:
        await hs.create_user("alice")
        resp = await hs.http.get(f"/_matrix/client/v3/profile/@alice:{hs.server_name}")
        assert resp.json() == {"displayname": "alice"}
