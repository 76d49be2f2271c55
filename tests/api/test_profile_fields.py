"""Extended profile fields (spec v1.16): `GET`/`PUT`/`DELETE /profile/{userId}/{keyName}`.

spec: client-server-api#put_matrixclientv3profileuseridkeyname: keyName "MUST be either
`avatar_url`, `displayname`, `m.tz`, or a custom field following the Common Namespaced
Identifier Grammar"; "the total profile MUST be under 64 KiB"; errors `M_MISSING_PARAM`
("the required keyName property is missing from the request body"), `M_PROFILE_TOO_LARGE`,
`M_KEY_TOO_LARGE` ("exceeds the maximum allowed key length of 255 bytes"); "Servers that accept
`null` values SHOULD store them rather than treating `null` as a deletion request". GET: "404:
There is no profile field with this key for this user". DELETE: "200: The profile field was
deleted or it doesn't exist". The `m.profile_fields` capability (spec v1.16).
"""

from __future__ import annotations

from tests.conftest import Homeserver, UserClient

TITLE = "org.example.job_title"


async def _put(user: UserClient, name: str, value: object) -> tuple[int, str | None]:
    resp = await user.put(f"/profile/{user.user_id}/{name}", json={name: value})
    return resp.status_code, resp.json().get("errcode")


async def test_fields_are_set_read_by_others_and_deleted(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    path = f"/profile/{alice.user_id}"
    badge = {"ward": "Cardiology", "floor": 3, "on_call": True}
    assert await _put(alice, "m.tz", "Europe/Warsaw") == (200, None)
    assert await _put(alice, TITLE, "Pielęgniarka oddziałowa") == (200, None)
    assert await _put(alice, "org.example.badge", badge) == (200, None)
    assert await _put(alice, "org.example.pager", None) == (200, None)  # null is stored

    assert (await bob.get(f"{path}/m.tz")).json() == {"m.tz": "Europe/Warsaw"}
    assert (await bob.get(f"{path}/{TITLE}")).json() == {TITLE: "Pielęgniarka oddziałowa"}
    assert (await bob.get(f"{path}/org.example.badge")).json() == {"org.example.badge": badge}
    assert (await bob.get(f"{path}/org.example.pager")).json() == {"org.example.pager": None}
    assert (await bob.get(path)).json() == {
        "displayname": "alice",
        "m.tz": "Europe/Warsaw",
        TITLE: "Pielęgniarka oddziałowa",
        "org.example.badge": badge,
        "org.example.pager": None,
    }

    assert await _put(alice, "m.tz", "Asia/Riyadh") == (200, None)  # replaced, not added
    assert (await bob.get(f"{path}/m.tz")).json() == {"m.tz": "Asia/Riyadh"}

    resp = await alice.delete(f"{path}/{TITLE}")
    assert (resp.status_code, resp.json()) == (200, {})
    resp = await bob.get(f"{path}/{TITLE}")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    assert TITLE not in (await bob.get(path)).json()
    resp = await alice.delete(f"{path}/{TITLE}")  # already gone: still 200
    assert (resp.status_code, resp.json()) == (200, {})
    # The display name goes through the same door: deleted, the profile no longer has it.
    assert (await alice.delete(f"{path}/displayname")).status_code == 200
    assert (await bob.get(f"{path}/displayname")).json() == {}
    assert "displayname" not in (await bob.get(path)).json()
    assert await _put(alice, "displayname", "Alicja") == (200, None)
    assert (await bob.get(f"{path}/displayname")).json() == {"displayname": "Alicja"}


async def test_field_names_and_values_are_checked(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    path = f"/profile/{alice.user_id}"
    for name in ("Org.example.x", "example", "m.TZ", "org..example", "org.example-x", "9a.b"):
        assert await _put(alice, name, "x") == (400, "M_INVALID_PARAM"), name
        resp = await alice.get(f"{path}/{name}")
        assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM"), name
        resp = await alice.delete(f"{path}/{name}")
        assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM"), name
    longest = "org.e" + "x" * 250  # 255 bytes: allowed
    assert await _put(alice, longest, 1) == (200, None)
    assert await _put(alice, longest + "x", 1) == (400, "M_KEY_TOO_LARGE")
    assert (await alice.get(f"{path}/{longest}x")).json()["errcode"] == "M_KEY_TOO_LARGE"

    resp = await alice.put(f"{path}/{TITLE}", json={"org.example.other": "x"})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_MISSING_PARAM")
    resp = await alice.put(f"{path}/{TITLE}", json=["not", "an", "object"])
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")
    resp = await alice.put(f"{path}/{TITLE}", content=b"{not json")
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_NOT_JSON")
    assert await _put(alice, "m.tz", 3600) == (400, "M_BAD_JSON")
    assert await _put(alice, "m.tz", None) == (400, "M_BAD_JSON")
    assert await _put(alice, "m.tz", "") == (400, "M_INVALID_PARAM")
    assert await _put(alice, "displayname", {"first": "A"}) == (400, "M_BAD_JSON")
    assert await _put(alice, "avatar_url", "https://evil.example/a.png") == (400, "M_INVALID_PARAM")
    # Nothing refused was stored.
    assert (await alice.get(path)).json() == {"displayname": "alice", longest: 1}


async def test_the_whole_profile_stays_under_64_kib(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    path = f"/profile/{alice.user_id}"
    assert await _put(alice, "org.example.cv", "a" * 40_000) == (200, None)
    # Alone this one would fit; with the first the profile would pass 64 KiB.
    assert await _put(alice, "org.example.notes", "b" * 30_000) == (400, "M_PROFILE_TOO_LARGE")
    resp = await alice.get(f"{path}/org.example.notes")
    assert resp.status_code == 404
    # Replacing a field counts its new value, not both: this fits.
    assert await _put(alice, "org.example.cv", "c" * 60_000) == (200, None)
    assert await _put(alice, "org.example.cv", "d" * 65_536) == (400, "M_PROFILE_TOO_LARGE")
    assert (await alice.get(f"{path}/org.example.cv")).json() == {"org.example.cv": "c" * 60_000}
    # Multi-byte characters count as their UTF-8 bytes.
    assert await _put(alice, "org.example.cv", "ż" * 33_000) == (400, "M_PROFILE_TOO_LARGE")


async def test_only_ones_own_profile_changes(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    assert await _put(alice, TITLE, "Lekarz") == (200, None)
    resp = await bob.put(f"/profile/{alice.user_id}/{TITLE}", json={TITLE: "hacked"})
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    resp = await bob.delete(f"/profile/{alice.user_id}/{TITLE}")
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert (await bob.get(f"/profile/{alice.user_id}/{TITLE}")).json() == {TITLE: "Lekarz"}
    resp = await bob.get(f"/profile/@nobody:{hs.server_name}/{TITLE}")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    # Profiles are private to the organisation by default: no token, no field.
    resp = await hs.http.get(f"/_matrix/client/v3/profile/{alice.user_id}/{TITLE}")
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    resp = await hs.http.put(
        f"/_matrix/client/v3/profile/{alice.user_id}/{TITLE}", json={TITLE: "x"}
    )
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")


async def test_advertised_to_clients(hs: Homeserver) -> None:
    """The capability (spec v1.16) and the flag matrix-js-sdk reads before it uses /v3."""
    alice = await hs.register_user("alice")
    caps = (await alice.get("/capabilities")).json()["capabilities"]
    assert caps["m.profile_fields"] == {"enabled": True}
    assert caps["m.set_displayname"] == {"enabled": True}  # still sent for older clients
    versions = (await hs.http.get("/_matrix/client/versions")).json()
    assert versions["unstable_features"]["uk.tcpip.msc4133.stable"] is True
