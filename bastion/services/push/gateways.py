"""THE check of where notifications may be sent: a pusher's `data.url` against
`[push] allowed_gateway_urls`.

Push gateways are outside the organisation, and every notification tells them who got a message
in which room and when (see docs/subsystems/push.md), so an admin decides which gateways may be
used. The spec's rules come first (an absolute URL with the path `/_matrix/push/v1/notify`, over
HTTPS); plain HTTP is accepted only for loopback hosts (a gateway on the same machine, tests).
The same check runs when a pusher is set and again before each request, so narrowing the list
stops existing pushers too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bastion.errors import Errcode, MatrixError

NOTIFY_PATH = "/_matrix/push/v1/notify"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class GatewayPolicy:
    """Which push gateway URLs pushers may use."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self._urls = frozenset(e for e in allowed if "://" in e)
        hosts = [e.lower() for e in allowed if "://" not in e]
        self._hosts = frozenset(h for h in hosts if not h.startswith("*."))
        self._suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))

    def check(self, url: object) -> str:
        """Return `url` if pushers may send to it; raise 400 M_INVALID_PARAM naming the
        problem (and the host) otherwise."""
        if not isinstance(url, str):
            raise MatrixError(400, Errcode.INVALID_PARAM, "data.url must be a string")
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError as exc:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"data.url {url!r}: {exc}") from exc
        if parts.scheme not in ("https", "http") or not host:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"data.url {url!r} is not absolute")
        if parts.path != NOTIFY_PATH:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"data.url {url!r}: the path must be {NOTIFY_PATH}"
            )
        if parts.scheme == "http" and host not in _LOOPBACK_HOSTS:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"data.url {url!r} must use https")
        if not self.is_allowed(url, host):
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"push gateway host {host!r} is not allowed on this server"
                " (push.allowed_gateway_urls)",
            )
        return url

    def allows(self, url: str) -> bool:
        """True if `check(url)` passes (the worker's re-check before each request)."""
        try:
            self.check(url)
        except MatrixError:
            return False
        return True

    def is_allowed(self, url: str, host: str) -> bool:
        return (
            url in self._urls
            or host in self._hosts
            or any(host.endswith(suffix) for suffix in self._suffixes)
        )
