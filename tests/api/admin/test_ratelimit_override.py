"""Synapse's `override_ratelimit` admin API (services/ratelimit.py `AccountLimits`). Synapse's
docs: "This API allows to override or disable ratelimiting for a specific user";
`messages_per_second` "`0` mean that ratelimiting is disabled for this user"; "If **no** custom
ratelimit is set, an empty JSON dict is returned". Bastion applies it to the per-account limit
on authenticated requests (`[rate_limits] requests_per_user`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bastion.config import RateLimit
from bastion.config_sections import RateLimitsConfig
from tests.conftest import Homeserver, UserClient, errcode

ADMIN = "/_synapse/admin/v1"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"rate_limits": RateLimitsConfig(requests_per_user=RateLimit(per_second=0.01, burst=4))}


async def requests_allowed(hs: Homeserver, user: UserClient, tries: int) -> int:
    """How many of `tries` quick requests get through before the first 429."""
    for n in range(tries):
        resp = await user.get("/account/whoami")
        if resp.status_code == 429:
            assert resp.json()["errcode"] == "M_LIMIT_EXCEEDED"
            return n
        assert resp.status_code == 200
    return tries


async def as_admin(
    hs: Homeserver, root: UserClient, method: str, path: str, body: Any = None
) -> Any:
    hs.clock.advance(3600)  # a full allowance for the admin (and everyone) first
    resp = await hs.http.request(
        method, ADMIN + path, json=body, headers={"Authorization": f"Bearer {root.token}"}
    )
    return resp


async def test_an_override_replaces_or_lifts_the_accounts_limit(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    bot = await hs.register_user("bot")
    path = f"/users/{bot.user_id}/override_ratelimit"
    assert (await as_admin(hs, root, "GET", path)).json() == {}
    hs.clock.advance(3600)
    assert await requests_allowed(hs, bot, 10) == 4  # the server's limit

    resp = await as_admin(hs, root, "POST", path, {"messages_per_second": 0, "burst_count": 0})
    assert resp.json() == {"messages_per_second": 0, "burst_count": 0}
    assert await requests_allowed(hs, bot, 30) == 30  # no limit at all
    assert (await as_admin(hs, root, "GET", path)).json() == {
        "messages_per_second": 0,
        "burst_count": 0,
    }
    resp = await as_admin(hs, root, "POST", path, {"messages_per_second": 1, "burst_count": 8})
    assert resp.status_code == 200
    assert await requests_allowed(hs, bot, 20) == 8  # its own limit

    resp = await as_admin(hs, root, "DELETE", path)
    assert (resp.status_code, resp.json()) == (200, {})
    assert (await as_admin(hs, root, "GET", path)).json() == {}
    assert await requests_allowed(hs, bot, 10) == 4
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, target, details FROM audit_log WHERE action = 'user.ratelimit' ORDER BY seq"
    )
    overrides = [json.loads(r[2])["override"] for r in rows]
    assert overrides == [{"per_second": 0, "burst": 0}, {"per_second": 1, "burst": 8}, None]
    assert {(r[0], r[1]) for r in rows} == {(root.user_id, bot.user_id)}


async def test_refusals(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    path = f"/users/{alice.user_id}/override_ratelimit"
    for body, expected in (
        ({"messages_per_second": -1}, (400, "M_INVALID_PARAM")),
        ({"burst_count": -5}, (400, "M_INVALID_PARAM")),
        ({"messages_per_second": 2**31}, (400, "M_INVALID_PARAM")),  # past the column
        ({"burst_count": 2**63}, (400, "M_INVALID_PARAM")),
        ({"messages_per_second": "many"}, (400, "M_BAD_JSON")),
    ):
        assert errcode(await as_admin(hs, root, "POST", path, body)) == expected, body
    unknown = f"/users/@nobody:{hs.server_name}/override_ratelimit"
    assert errcode(await as_admin(hs, root, "GET", unknown)) == (404, "M_NOT_FOUND")
    remote = "/users/@someone:elsewhere.example/override_ratelimit"
    assert errcode(await as_admin(hs, root, "POST", remote, {})) == (400, "M_INVALID_PARAM")
    assert errcode(await as_admin(hs, alice, "POST", path, {})) == (403, "M_FORBIDDEN")
    assert (await as_admin(hs, root, "GET", path)).json() == {}
