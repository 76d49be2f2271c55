"""`GET /voip/turnServer` (spec: client-server-api#get_matrixclientv3voipturnserver)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from bastion.config import VoipConfig
from tests.conftest import Homeserver, errcode

SECRET = "n0t-so-s3cret"
URIS = ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp")
TURN = {"voip": VoipConfig(turn_uris=URIS, turn_shared_secret=SECRET, turn_user_lifetime=3600)}


def coturn_password(secret: str, username: str) -> str:
    """coturn's REST API rule (`use-auth-secret`): base64(HMAC-SHA1(secret, username))."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("config_overrides", [TURN])
async def test_credentials_are_coturn_time_limited_ones(hs: Homeserver) -> None:
    """spec: "This API provides credentials for the client to use when initiating calls"
    (`username`, `password`, `uris`, `ttl`: "The time-to-live in seconds"); the username is
    "<expiry>:<user ID>" and the password the HMAC coturn recomputes from its shared secret."""
    alice = await hs.register_user("alice")
    resp = await alice.get("/voip/turnServer")
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    expiry = hs.clock.now_ms() // 1000 + 3600
    assert body == {
        "username": f"{expiry}:{alice.user_id}",
        "password": coturn_password(SECRET, f"{expiry}:{alice.user_id}"),
        "uris": list(URIS),
        "ttl": 3600,
    }

    hs.clock.advance(120)
    later = (await alice.get("/voip/turnServer")).json()
    assert later["username"] == f"{expiry + 120}:{alice.user_id}"
    assert later["password"] == coturn_password(SECRET, later["username"])


async def test_without_a_turn_server_the_answer_is_empty(hs: Homeserver) -> None:
    """spec: "The homeserver MAY provide a TURN server": none configured answers `{}`."""
    alice = await hs.register_user("alice")
    resp = await alice.get("/voip/turnServer")
    assert (resp.status_code, resp.json()) == (200, {})


@pytest.mark.parametrize("config_overrides", [TURN])
async def test_credentials_need_an_access_token(hs: Homeserver) -> None:
    """spec: the endpoint requires authentication (`security: accessTokenBearer`)."""
    resp = await hs.http.get("/_matrix/client/v3/voip/turnServer")
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


LIVEKIT = "https://rtc.example.org/livekit/jwt"
RTC = {"voip": VoipConfig(livekit_service_url=LIVEKIT)}
TRANSPORTS = "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports"


@pytest.mark.parametrize("config_overrides", [RTC])
async def test_group_calls_find_the_livekit_service(hs: Homeserver) -> None:
    """MSC4143/MSC4195: a client finds where group calls connect in `/.well-known/matrix/client`
    (`org.matrix.msc4143.rtc_foci`, what Element X reads) and at `/rtc/transports` (what
    matrix-js-sdk polls), the same LiveKit service both places."""
    alice = await hs.register_user("alice")
    livekit = [{"type": "livekit", "livekit_service_url": LIVEKIT}]
    well_known = (await hs.http.get("/.well-known/matrix/client")).json()
    assert well_known["org.matrix.msc4143.rtc_foci"] == livekit
    resp = await alice.get(TRANSPORTS)
    assert resp.status_code == 200
    assert resp.json() == {"rtc_transports": livekit}
    assert errcode(await hs.http.get(TRANSPORTS)) == (401, "M_MISSING_TOKEN")


async def test_without_livekit_no_transport_is_offered(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    well_known = (await hs.http.get("/.well-known/matrix/client")).json()
    assert "org.matrix.msc4143.rtc_foci" not in well_known
    assert (await alice.get(TRANSPORTS)).json() == {"rtc_transports": []}
