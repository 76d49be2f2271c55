"""Requests to an application service: transactions, pings, the user and alias queries and
the third-party lookups (spec: application-service-api).

Every request carries `Authorization: Bearer <hs_token>` (v1.4; no `access_token` query
parameter, which only services older than that read). The URL is the administrator's, from the
registration file, so it may be on loopback or the organisation's network: unlike push
gateways there is no address filter. Redirects are not followed (a transaction must reach the
service that was registered), and each request is bounded by `timeout_s`.
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.outbound_tls import trusted_authorities

BODY_IN_ERROR_AT_MOST = 1_000


class Unreachable(Exception):
    """The service could not be reached (`timed_out`: no answer within the timeout)."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class Refused(Exception):
    """The service answered with a status other than 2xx."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status
        self.body = body


class AppServiceClient:
    """One HTTP client for every registration."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        # Never through a proxy (services run next to the server); an `https://` service is
        # verified as every outbound call (services/outbound_tls.py).
        self._http = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, trust_env=False,
            verify=trusted_authorities(),
        )  # fmt: skip

    async def put_transaction(
        self,
        registration: AppServiceRegistration,
        txn_id: int,
        events: list[dict[str, Any]],
        ephemeral: list[dict[str, Any]] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """PUT /_matrix/app/v1/transactions/{txnId} (`ephemeral` for a service that receives
        it; `extensions`: the unstable fields of encryption.py); Unreachable or Refused unless
        2xx."""
        body: dict[str, Any] = {**(extensions or {}), "events": events}
        if ephemeral is not None:
            body["ephemeral"] = ephemeral
        await self._request(registration, "PUT", f"/_matrix/app/v1/transactions/{txn_id}", body)

    async def ping(self, registration: AppServiceRegistration, transaction_id: str | None) -> int:
        """POST /_matrix/app/v1/ping; the round trip in whole milliseconds, rounded up (a
        loopback round trip is under one, and some libraries read 0 as no answer)."""
        body = {} if transaction_id is None else {"transaction_id": transaction_id}
        started = time.monotonic()
        await self._request(registration, "POST", "/_matrix/app/v1/ping", body)
        return math.ceil((time.monotonic() - started) * 1000)

    async def query(self, registration: AppServiceRegistration, kind: str, name: str) -> bool:
        """GET /_matrix/app/v1/users/{userId} (`kind` "users") or /rooms/{roomAlias} ("rooms"):
        True when the service answers 2xx (it has created the user or alias)."""
        try:
            await self._request(registration, "GET", f"/_matrix/app/v1/{kind}/{quote(name)}", None)
        except Refused:
            return False
        return True

    async def get_json(
        self, registration: AppServiceRegistration, path: str, params: dict[str, str]
    ) -> Any:
        """GET `path` (a third-party lookup) with `params`: the JSON answer of a 2xx;
        Unreachable, or Refused for another status or a body that is not JSON."""
        response = await self._request(registration, "GET", path, None, params=params)
        try:
            return response.json()
        except ValueError as exc:
            raise Refused(response.status_code, "the answer is not JSON") from exc

    async def _request(
        self,
        registration: AppServiceRegistration,
        method: str,
        path: str,
        body: object | None,
        *,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        assert registration.url is not None  # callers check
        try:
            response = await self._http.request(
                method,
                registration.url + path,
                content=None if body is None else msgspec.json.encode(body),
                params=params,
                headers={
                    "Authorization": f"Bearer {registration.hs_token}",
                    "Content-Type": "application/json",
                },
            )
        except httpx.TimeoutException as exc:
            raise Unreachable("no answer in time", timed_out=True) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise Unreachable(f"cannot connect: {reason}", timed_out=False) from exc
        if not 200 <= response.status_code < 300:
            raise Refused(response.status_code, response.text[:BODY_IN_ERROR_AT_MOST])
        return response

    async def close(self) -> None:
        await self._http.aclose()
