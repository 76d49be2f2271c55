"""The HTTP client of a service that calls out (push gateways, identity providers): made on
first use, so a process that never calls out opens nothing; every request bounded by the
timeout; redirects never followed (each caller decides where it may go); our User-Agent."""

from __future__ import annotations

import httpx

from bastion.services.outbound_tls import trusted_authorities


class OutboundClient:
    """One lazily made `httpx.AsyncClient`, closed at shutdown."""

    def __init__(
        self,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """`transport`: tests route requests in process; `headers`: sent with every request."""
        self._timeout_s = timeout_s
        self._transport = transport
        self._headers = {"User-Agent": "Bastion", **(headers or {})}
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                verify=trusted_authorities(),  # what httpx would read, in one place
                timeout=httpx.Timeout(self._timeout_s),
                follow_redirects=False,
                headers=self._headers,
            )
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
