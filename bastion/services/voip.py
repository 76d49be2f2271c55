"""TURN credentials for calls (spec: client-server-api#get_matrixclientv3voipturnserver).

The TURN server (coturn with `use-auth-secret`) and Bastion share a secret; Bastion hands each
caller a time-limited username and password the TURN server can check on its own, with no call
back to us:

    username = "<expiry, Unix seconds>:<user ID>"
    password = base64(HMAC-SHA1(shared secret, username))

The expiry is now (from the injected Clock) plus `voip.turn_user_lifetime`, and `ttl` tells the
client to fetch new credentials before then. With no `voip.turn_uris` configured there is no TURN
server to offer (`None`; the endpoint answers `{}`). Nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

from bastion.clock import Clock
from bastion.config import VoipConfig
from bastion.json_types import JsonObject
from bastion.services.principal import Requester


class TurnServer(msgspec.Struct, frozen=True):
    """The body of `GET /voip/turnServer` when a TURN server is configured."""

    username: str
    password: str
    uris: list[str]
    ttl: int


class VoipService:
    """Hands out TURN credentials."""

    def __init__(self, config: VoipConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock

    def turn_server(self, requester: Requester) -> TurnServer | None:
        """Credentials for `requester`, valid for `turn_user_lifetime` seconds; `None` when no
        TURN server is configured."""
        config = self._config
        if not config.turn_uris:
            return None
        expiry = self._clock.now_ms() // 1000 + config.turn_user_lifetime
        username = f"{expiry}:{requester.user_id}"
        digest = hmac.new(
            config.turn_shared_secret.encode(), username.encode(), hashlib.sha1
        ).digest()
        return TurnServer(
            username=username,
            password=base64.b64encode(digest).decode("ascii"),
            uris=list(config.turn_uris),
            ttl=config.turn_user_lifetime,
        )

    def rtc_transports(self) -> list[JsonObject]:
        """The MatrixRTC transports (MSC4143/MSC4195) clients may use for group calls: the
        configured LiveKit token service, or none."""
        url = self._config.livekit_service_url
        return [{"type": "livekit", "livekit_service_url": url}] if url else []
