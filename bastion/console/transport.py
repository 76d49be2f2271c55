"""Whether a request reached us over HTTPS, and from which address: the cookie's `Secure` flag
and the sign-in's throttling key.

`X-Forwarded-Proto` is believed only from a trusted proxy (`[listen] trusted_proxies`), as
`X-Forwarded-For` is (`api/client_address.py`, whose resolved address the access log put in the
scope).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from bastion.api.client_address import SCOPE_KEY, UNKNOWN, ClientAddressResolver


class TransportSecurity:
    """Answers "is this request HTTPS?" given the trusted proxies."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._resolver = ClientAddressResolver(trusted_proxies)

    def is_https(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        peer = request.client.host if request.client else None
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        return peer is not None and self._resolver.is_trusted(peer) and forwarded == "https"


def client_ip(request: Request) -> str:
    """The client address the access log resolved (trusted proxies honoured)."""
    address = request.scope.get(SCOPE_KEY)
    if isinstance(address, str):
        return address
    return request.client.host if request.client else UNKNOWN
