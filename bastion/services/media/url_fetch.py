"""Fetching a web page or image for a URL preview without becoming a way into the network the
server sits in (server-side request forgery).

A preview makes the server fetch a URL any user chose. So:
- Only `http` and `https`, on any port, to a host name or address literal.
- The name is resolved here, and every address it resolves to must pass the address rules
  (`AddressRules`: denied ranges, by default loopback, private, link-local, carrier-grade NAT,
  multicast and the other special-purpose ranges, unless an allowed range names them). Then the
  connection goes to the checked address itself (the URL's host is kept as the `Host` header and
  the TLS server name, so certificates are verified against the name), so a second resolution
  cannot swap in another address (DNS rebinding).
- Redirects are followed by hand, at most `MAX_REDIRECTS`, each target checked the same way.
- The body is read up to `max_bytes` and no further; a longer one is refused. It is asked for
  uncompressed (a compressed answer is refused), so the bound is the content's size and a small
  compressed body cannot expand into a huge one. Each request, whole (not only each read), is
  bounded by `timeout_s`; at most `MAX_CONCURRENT` run at once.

Behind an egress proxy (the standard `HTTPS_PROXY` / `HTTP_PROXY` variables, except the hosts
`NO_PROXY` names, as the rest of the server's outbound calls: docs/operations.md), a fetch goes
through the proxy by the URL's host name, since the proxy resolves names (a server behind one
often cannot resolve outside names at all). The address rules still hold where this server can
apply them: an address literal, or a name this server resolves, must pass them; a name it cannot
resolve is left to the proxy, whose own rules must keep it from the inner network (as Synapse
documents for its previews). Without a proxy, every fetch connects directly, never through one.

Certificates are verified against the authorities every outbound call trusts
(services/outbound_tls.py: an organisation whose proxy inspects TLS names its own authority once),
with a context built once per fetcher, not per fetch (loading a bundle costs milliseconds).

Failures are `FetchRefused` (the URL or an address is not allowed: the client's fault) or
`FetchFailed` (the site did not answer usably).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from bastion.services.outbound_tls import trusted_authorities

MAX_REDIRECTS = 5
MAX_CONCURRENT = 8  # fetches at once per process: a burst of links queues, never floods
USER_AGENT = "Bastion URL preview (Matrix homeserver)"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Never fetched unless an allowed range names them: where the server's own network lives.
DEFAULT_DENIED_RANGES = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32", "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64",
    "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)  # fmt: skip


class FetchRefused(Exception):
    """The URL, or an address its host resolves to, may not be fetched."""


class FetchFailed(Exception):
    """The site did not answer usably (unreachable, an error status, too large, too slow)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched body, with the URL it finally came from (after redirects)."""

    url: str
    content_type: str
    body: bytes


class AddressRules:
    """Which addresses a preview may connect to: not in a denied range, unless in an allowed
    one (an operator's exception, e.g. an intranet wiki)."""

    def __init__(self, denied: Sequence[str], allowed: Sequence[str] = ()) -> None:
        self._denied = [ipaddress.ip_network(r, strict=False) for r in denied]
        self._allowed = [ipaddress.ip_network(r, strict=False) for r in allowed]

    def permits(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if any(address in network for network in self._allowed):
            return True
        return not any(address in network for network in self._denied)


class UrlFetcher:
    """Fetches URLs under the rules of the module docstring."""

    def __init__(self, rules: AddressRules, *, timeout_s: float, max_bytes: int) -> None:
        self._rules = rules
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._running = asyncio.Semaphore(MAX_CONCURRENT)
        self._tls = trusted_authorities()

    async def fetch(self, url: str) -> Fetched:
        """GET `url` (following redirects); raises FetchRefused or FetchFailed. At most
        `MAX_CONCURRENT` fetches run at once in a process (the others wait their turn)."""
        async with self._running:
            for _ in range(MAX_REDIRECTS + 1):
                target, host, proxy = await self._checked(url)
                try:  # the whole exchange is bounded, not only each read: no slow drip
                    async with (
                        asyncio.timeout(self._timeout_s),
                        httpx.AsyncClient(
                            timeout=self._timeout_s, follow_redirects=False, trust_env=False,
                            proxy=proxy, verify=self._tls,
                        ) as client,
                    ):  # fmt: skip
                        fetched = await self._get(client, url, target, host)
                except httpx.HTTPError as exc:
                    raise FetchFailed(f"{host}: {type(exc).__name__}") from exc
                except TimeoutError as exc:
                    raise FetchFailed(f"{host} took longer than {self._timeout_s} s") from exc
                if isinstance(fetched, Fetched):
                    return fetched
                url = fetched  # a redirect: its target is checked on the next turn
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")

    async def _checked(self, url: str) -> tuple[str, str, str | None]:
        """(what to request: the URL with the checked address as host, or through a proxy the
        URL itself; the original host; the proxy, if one is used)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused("only http and https URLs with a host can be previewed")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchRefused("the URL's port is not a number") from exc
        proxy = egress_proxy(parts.scheme, host)
        try:
            addresses = await _resolve(host, port)
        except FetchFailed:
            if proxy is None:
                raise
            addresses = []  # the proxy resolves it, under its own rules
        if not addresses and proxy is None:
            raise FetchFailed(f"{host} does not resolve")
        if not all(self._rules.permits(a) for a in addresses):
            raise FetchRefused(f"{host} is an address previews may not reach")
        if proxy is not None:
            return url, host, proxy
        address = str(addresses[0])
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        return target, host, None

    async def _get(
        self, client: httpx.AsyncClient, url: str, target: str, host: str
    ) -> Fetched | str:
        """The body, or the URL a redirect points to."""
        parts = urlsplit(url)
        host_header = parts.netloc.rsplit("@", 1)[-1]  # never forward userinfo
        headers = {
            "Host": host_header, "User-Agent": USER_AGENT, "Accept": "*/*",
            "Accept-Encoding": "identity",  # so the size bound is the content's (no bombs)
        }  # fmt: skip
        direct = target != url  # to the checked address: the TLS name is the URL's host
        extensions = {"sni_hostname": host} if parts.scheme == "https" and direct else {}
        request = client.build_request("GET", target, headers=headers, extensions=extensions)
        response = await client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.is_redirect and isinstance(location, str) and location:
                return urljoin(url, location)
            if response.status_code != 200:
                raise FetchFailed(f"{host} answered {response.status_code}")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise FetchFailed(f"{host} compressed its answer though asked not to")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise FetchFailed(f"{host}'s content is larger than {self._max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self._max_bytes:
                    raise FetchFailed(f"{host}'s content is larger than {self._max_bytes} bytes")
            content_type = response.headers.get("content-type", "")
            return Fetched(url, content_type, bytes(body))
        finally:
            await response.aclose()


def egress_proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment names for `scheme` (`HTTPS_PROXY`, `HTTP_PROXY`, either case),
    unless `NO_PROXY` names `host`; None for a direct connection."""
    proxy = urllib.request.getproxies_environment().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchFailed(f"{host} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
