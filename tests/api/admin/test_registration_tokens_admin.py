"""Synapse's registration tokens Admin API (issue #12 §1: "`v1/registration_tokens` (list,
create, get, update, delete)"), with the field names of Synapse's documentation: "token",
"uses_allowed", "pending", "completed", "expiry_time"; `valid` filter; `length`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Homeserver, errcode, token_registration

BASE = "/_synapse/admin/v1/registration_tokens"
FIELDS = {"token", "uses_allowed", "pending", "completed", "expiry_time"}


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return token_registration()


async def test_create_with_defaults_answers_a_token_object(hs: Homeserver) -> None:
    """ "`length`: the length of the token randomly generated if `token` is not specified
    ... Defaults to 16"; the answer is a token object."""
    admin = await hs.register_user("root", admin=True)
    resp = await admin.post(f"{BASE}/new", json={})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == FIELDS
    assert len(body["token"]) == 16
    assert (body["uses_allowed"], body["pending"], body["completed"], body["expiry_time"]) == (
        None,
        0,
        0,
        None,
    )
    short = (await admin.post(f"{BASE}/new", json={"length": 5})).json()
    assert len(short["token"]) == 5


async def test_create_get_list_update_delete(hs: Homeserver) -> None:
    """The whole life of a token, through every route, each change audited."""
    admin = await hs.register_user("root", admin=True)
    expiry = hs.clock.now_ms() + 3_600_000
    created = await admin.post(
        f"{BASE}/new", json={"token": "welcome-2026", "uses_allowed": 3, "expiry_time": expiry}
    )
    assert created.json() == {
        "token": "welcome-2026", "uses_allowed": 3, "pending": 0, "completed": 0,
        "expiry_time": expiry,
    }  # fmt: skip
    assert (await admin.get(f"{BASE}/welcome-2026")).json() == created.json()
    listed = (await admin.get(BASE)).json()
    assert listed == {"registration_tokens": [created.json()]}
    # A field left out keeps its value; null means unlimited.
    updated = await admin.put(f"{BASE}/welcome-2026", json={"uses_allowed": None})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["uses_allowed"], updated.json()["expiry_time"]) == (None, expiry)
    updated = await admin.put(f"{BASE}/welcome-2026", json={"expiry_time": None})
    assert (updated.json()["uses_allowed"], updated.json()["expiry_time"]) == (None, None)
    deleted = await admin.delete(f"{BASE}/welcome-2026")
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert errcode(await admin.get(f"{BASE}/welcome-2026")) == (404, "M_NOT_FOUND")
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, outcome, details FROM audit_log WHERE action LIKE 'registration_token.%'"
        " ORDER BY seq"
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("registration_token.create", "success"),
        ("registration_token.update", "success"),
        ("registration_token.update", "success"),
        ("registration_token.delete", "success"),
    ]
    assert json.loads(rows[1][2])["uses_allowed"] is None
    assert "welcome-2026" not in " ".join(str(r[2]) for r in rows)  # a credential: never logged


async def test_valid_filter(hs: Homeserver) -> None:
    """ "`valid`: ... `true` will only return valid tokens, `false` will only return tokens that
    have expired or been used up"."""
    admin = await hs.register_user("root", admin=True)
    now = hs.clock.now_ms()
    await admin.post(f"{BASE}/new", json={"token": "open"})
    await admin.post(f"{BASE}/new", json={"token": "soon", "expiry_time": now + 1000})
    await admin.post(f"{BASE}/new", json={"token": "none-left", "uses_allowed": 0})
    hs.clock.advance(2.0)

    async def names(valid: str) -> set[str]:
        body = (await admin.get(BASE, params={"valid": valid})).json()
        return {t["token"] for t in body["registration_tokens"]}

    assert await names("true") == {"open"}
    assert await names("false") == {"soon", "none-left"}
    assert errcode(await admin.get(BASE, params={"valid": "maybe"})) == (400, "M_INVALID_PARAM")


@pytest.mark.parametrize(
    "body",
    [
        {"token": "has space"},
        {"uses_allowed": -1},
        {"expiry_time": 1},  # in the past
        {"length": 0},
        {"length": 65},
    ],
)
async def test_invalid_creation_is_400_and_audited_as_failed(
    hs: Homeserver, body: dict[str, Any]
) -> None:
    admin = await hs.register_user("root", admin=True)
    resp = await admin.post(f"{BASE}/new", json=body)
    assert resp.status_code == 400
    assert (await admin.get(BASE)).json() == {"registration_tokens": []}


async def test_update_refuses_bad_values_and_unknown_tokens(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    await admin.post(f"{BASE}/new", json={"token": "abc"})
    assert errcode(await admin.put(f"{BASE}/abc", json={"uses_allowed": -2}))[0] == 400
    assert errcode(await admin.put(f"{BASE}/abc", json={"expiry_time": 5}))[0] == 400
    assert errcode(await admin.put(f"{BASE}/nope", json={})) == (404, "M_NOT_FOUND")
    assert errcode(await admin.delete(f"{BASE}/nope")) == (404, "M_NOT_FOUND")
    failed = await hs.runtime.db.fetch_all(
        "SELECT action FROM audit_log WHERE outcome = 'failure'"
        " AND action LIKE 'registration_token.%'"
    )
    assert len(failed) == 4


async def test_a_token_made_here_admits_a_registration(hs: Homeserver) -> None:
    """The token works for `m.login.registration_token`, and `completed` counts the use."""
    admin = await hs.register_user("root", admin=True)
    await admin.post(f"{BASE}/new", json={"token": "join-us", "uses_allowed": 1})
    body: dict[str, Any] = {"username": "newbie", "password": "correct horse battery"}
    first = await hs.http.post("/_matrix/client/v3/register", json=body)
    session = first.json()["session"]
    auth = {"type": "m.login.registration_token", "token": "join-us", "session": session}
    done = await hs.http.post("/_matrix/client/v3/register", json={**body, "auth": auth})
    assert done.status_code == 200, done.text
    token = (await admin.get(f"{BASE}/join-us")).json()
    assert (token["completed"], token["pending"]) == (1, 0)
    assert (await admin.get(BASE, params={"valid": "false"})).json()["registration_tokens"] == [
        token
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BASE),
        ("POST", f"{BASE}/new"),
        ("GET", f"{BASE}/abc"),
        ("PUT", f"{BASE}/abc"),
        ("DELETE", f"{BASE}/abc"),
    ],
)
async def test_non_admins_are_refused(hs: Homeserver, method: str, path: str) -> None:
    """Only server admins: 403 M_FORBIDDEN for everyone else, and nothing changes."""
    admin = await hs.register_user("root", admin=True)
    await admin.post(f"{BASE}/new", json={"token": "abc"})
    alice = await hs.register_user("alice")
    resp = await hs.http.request(
        method, path, json={}, headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert (await admin.get(f"{BASE}/abc")).status_code == 200
