"""Synapse's Experimental Features API (docs/admin_api/experimental_features.md: "a list of
possible features and indicate whether they are enabled or disabled for the user"; PUT
"listing the features to enable/disable") and Purge Remote Media API (media_admin_api.md:
`before_ts` required, in milliseconds; answers `deleted`). Bastion offers each feature to every
account or to none, and caches no other server's media.
"""

from __future__ import annotations

from urllib.parse import quote

from tests.api.test_media import download, upload
from tests.conftest import Homeserver, errcode

FEATURES = "/_synapse/admin/v1/experimental_features"
PURGE_CACHE = "/_synapse/admin/v1/purge_media_cache"


async def test_features_are_what_every_account_has(hs: Homeserver) -> None:
    """GET lists Synapse's three; PUT of the same values is accepted (the UIs send the whole
    form), a change is refused with the reason, an unknown feature is 400."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    path = f"{FEATURES}/{quote(alice.user_id)}"
    resp = await root.get(path)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"features": {"msc3575": True, "msc3881": False, "msc4222": True}}

    same = {"features": {"msc3575": True, "msc3881": False, "msc4222": True}}
    assert (await root.put(path, json=same)).json() == {}
    change = await root.put(path, json={"features": {"msc3881": True}})
    assert errcode(change) == (400, "M_INVALID_PARAM")
    assert "not offered" in change.json()["error"]
    off = await root.put(path, json={"features": {"msc3575": False}})
    assert errcode(off) == (400, "M_INVALID_PARAM")
    unknown = await root.put(path, json={"features": {"msc9999": True}})
    assert errcode(unknown) == (400, "M_INVALID_PARAM")
    assert "msc9999" in unknown.json()["error"]
    assert errcode(await root.put(path, json={})) == (400, "M_BAD_JSON")
    assert errcode(await root.put(path, json={"features": {"msc3575": "yes"}})) == (
        400, "M_BAD_JSON",
    )  # fmt: skip
    remote = f"{FEATURES}/{quote('@someone:elsewhere.example')}"
    assert errcode(await root.get(remote)) == (400, "M_INVALID_PARAM")
    assert errcode(await root.get(f"{FEATURES}/not-a-user")) == (400, "M_INVALID_PARAM")
    assert errcode(await alice.get(path)) == (403, "M_FORBIDDEN")
    assert errcode(await alice.put(path, json=same)) == (403, "M_FORBIDDEN")
    assert (await root.get(path)).json()["features"]["msc3881"] is False  # nothing changed


async def test_no_remote_media_to_purge(hs: Homeserver) -> None:
    """`deleted` 0 (no other server's files are ever fetched), `before_ts` checked as Synapse
    does: required, not negative, in milliseconds; local uploads untouched."""
    root = await hs.register_user("root", admin=True)
    media_id = await upload(hs, root, b"kept")
    resp = await root.post(PURGE_CACHE, params={"before_ts": str(hs.clock.now_ms() + 1)})
    assert (resp.status_code, resp.json()) == (200, {"deleted": 0})
    assert errcode(await root.post(PURGE_CACHE)) == (400, "M_MISSING_PARAM")
    assert errcode(await root.post(PURGE_CACHE, params={"before_ts": "-1"})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    seconds = await root.post(PURGE_CACHE, params={"before_ts": "1700000000"})
    assert errcode(seconds) == (400, "M_INVALID_PARAM")
    assert "1970" in seconds.json()["error"]
    bob = await hs.register_user("bob")
    assert errcode(await bob.post(PURGE_CACHE, params={"before_ts": "99999999999"})) == (
        403, "M_FORBIDDEN",
    )  # fmt: skip
    assert (await download(hs, root, media_id)).content == b"kept"
