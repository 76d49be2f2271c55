"""THE client address of a request: who rate limits, the access log and device records see.

Behind a reverse proxy every connection comes from the proxy, so the peer address alone would
make one organisation look like one client. `X-Forwarded-For` is believed only when the peer is a
configured trusted proxy (`[listen] trusted_proxies`), and then only as far as it was written by
trusted proxies: the list is read from the right (each proxy appends the address it saw), trusted
hops are skipped, and the first address that is not a trusted proxy is the client. Anything a
client wrote to the left of that is ignored, so a client cannot choose its own address; an entry
that is not an IP address ends the walk at the last trusted hop.

`ClientAddressResolver.resolve` is the one function computing it; the HTTP edge (`edge.py`) calls it
once per request and stores the result in the ASGI scope, where `client_ip` reads it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from starlette.types import Scope

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCOPE_KEY: Final = "bastion.client_address"
UNKNOWN: Final = "unknown"


class ClientAddressResolver:
    """Finds the client address of a request, given the trusted proxies."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        """`trusted_proxies` are IP addresses or CIDR ranges (checked at config load)."""
        self._trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies
        )

    def is_trusted(self, address: str) -> bool:
        """Whether `address` is one of the trusted proxies (False for a non-address)."""
        parsed = _parse(address)
        return parsed is not None and any(parsed in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: Iterable[str]) -> str:
        """The client address, from the peer address and the X-Forwarded-For header values."""
        client = peer or UNKNOWN
        if not self._trusted or not self.is_trusted(client):
            return client
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:
                break
            client = str(address)
            if not self.is_trusted(client):
                break
        return client

    def resolve_scope(self, scope: Scope) -> str:
        """`resolve` for an ASGI HTTP scope."""
        peer = scope.get("client")
        if not self._trusted:  # no proxy to believe: no header to read
            return self.resolve(peer[0] if peer else None, ())
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", [])
            if name == b"x-forwarded-for"
        ]
        return self.resolve(peer[0] if peer else None, forwarded)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
