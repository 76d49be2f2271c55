"""Where a login token may be sent: the client's `redirectUrl`, checked and rewritten.

The spec's first security consideration: a phishing site can start SSO with its own
`redirectUrl` and collect the token. A URL under one of `[sso] client_redirects` gets the token
at once; any other gets a page that names its site and asks the user to confirm (flow.py).
Schemes a browser would run or render itself (`javascript:`, `data:`) are refused outright.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bastion.config_sso import client_scheme

MAX_REDIRECT_URL_LENGTH = 2048


def is_acceptable_redirect(url: str) -> bool:
    """A client's `redirectUrl` an app or browser can open, never a script or inline data."""
    if not url or len(url) > MAX_REDIRECT_URL_LENGTH:
        return False
    scheme = client_scheme(url)
    if scheme is None:
        return False
    if scheme in ("http", "https"):
        try:
            return bool(urlsplit(url).hostname)
        except ValueError:  # a malformed port or IPv6 literal
            return False
    return True


def is_trusted(url: str, prefixes: tuple[str, ...]) -> bool:
    """Whether `url` is under a configured client prefix (compared case-sensitively)."""
    return any(url.startswith(prefix) for prefix in prefixes)


def with_login_token(url: str, token: str) -> str:
    """`url` with `loginToken=token`, its other query parameters kept and any earlier
    `loginToken` removed (spec: "they should be removed before adding the new one")."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "loginToken"]
    query.append(("loginToken", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def site_of(url: str) -> str:
    """What the confirmation page names: the host of a web client, the scheme of an app."""
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https"):
        return parts.netloc.rpartition("@")[2]  # never a userinfo part, which can disguise it
    return f"{parts.scheme}:" + (f"//{parts.netloc}" if parts.netloc else "")
