"""One `POST /_matrix/push/v1/notify` to a push gateway, and what its answer means.

`DELIVERED`: a 2xx; its `rejected` pushkeys must be removed (spec: "Homeservers must cease
sending notification requests for these pushkeys and remove the associated pushers").
`RETRY`: the gateway may accept it later: a 5xx, 429, a timeout or no connection.
`REFUSED`: any other status (a 4xx): sending the same request again cannot help, so the
notification is skipped. The transport is injectable (`httpx.MockTransport` in unit tests);
redirects are not followed, so a gateway cannot send the request on to a host not allowed.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import httpx
import msgspec

from bastion.services.outbound_http import OutboundClient
from bastion.services.push.gateways import GatewayPolicy

log = logging.getLogger(__name__)
_JSON = {"Content-Type": "application/json"}


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


class GatewayAnswer(msgspec.Struct, frozen=True):
    """What one request achieved, and the pushkeys the gateway rejected."""

    outcome: Outcome
    rejected: tuple[str, ...] = ()


class GatewayClient:
    """Posts notify bodies with a bounded timeout, to gateways `policy` allows."""

    def __init__(
        self,
        policy: GatewayPolicy,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._http = OutboundClient(timeout_s, transport)

    async def notify(self, url: str, body: dict[str, Any]) -> GatewayAnswer:
        try:
            response = await self._http.client().post(
                url, content=msgspec.json.encode(body), headers=_JSON
            )
        except httpx.HTTPError as exc:
            log.warning("push gateway %s unreachable: %s", url, exc)
            return GatewayAnswer(Outcome.RETRY)
        status = response.status_code
        if status >= 500 or status == 429:
            log.warning("push gateway %s answered %d; will retry", url, status)
            return GatewayAnswer(Outcome.RETRY)
        if not 200 <= status < 300:
            log.warning("push gateway %s refused a notification with %d", url, status)
            return GatewayAnswer(Outcome.REFUSED)
        return GatewayAnswer(Outcome.DELIVERED, _rejected(response.content))

    async def close(self) -> None:
        await self._http.close()


def _rejected(raw: bytes) -> tuple[str, ...]:
    try:
        answer = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return ()
    rejected = answer.get("rejected") if isinstance(answer, dict) else None
    if not isinstance(rejected, list):
        return ()
    return tuple(key for key in rejected if isinstance(key, str))
