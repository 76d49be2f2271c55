"""The `[sso]` section: single sign-on through the organisation's OpenID Connect providers.

Its own module because config_sections.py is near its size limit; `bastion.config` re-exports
`SsoConfig` and `SsoProvider`, reads `client_secret_file` at load and reports `SsoConfigError`
as a `ConfigError`. What is checked here cannot be said with types: an id the spec's opaque
identifier grammar allows, an https issuer (http only for a loopback host, so tests and a
laptop can run an IdP locally), one secret per provider, and client redirect prefixes that end
their host (a prefix `https://chat.example.org` would also match `https://chat.example.org.evil`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from bastion.config_sections import _doc

# spec: appendices#opaque-identifiers (the grammar `identity_providers` ids should use)
_IDP_ID = re.compile(r"[A-Za-z0-9._~-]{1,255}")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Schemes a browser runs or renders in place instead of handing to an app: never a client.
UNSAFE_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob", "about"})


class SsoConfigError(ValueError):
    """An `[sso]` setting is invalid; the message names it."""


class SsoProvider(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One OpenID Connect identity provider (an `[[sso.providers]]` table)."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str = ""
    client_secret_file: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    localpart_claim: str = "preferred_username"
    create_accounts: bool = False
    displayname_claim: str = "name"
    brand: str = ""  # the spec's IdP brand (google, apple, github, ...): clients draw its logo
    icon: str = ""  # an mxc:// URI of the provider's icon, when no brand fits


class SsoConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Single sign-on with OpenID Connect (docs/subsystems/auth.md, "Single sign-on")."""

    providers: Annotated[
        tuple[SsoProvider, ...],
        _doc(
            "OpenID Connect identity providers, each an [[sso.providers]] table with: id (shown "
            "to clients, letters, digits and ._~-), name (the button label), issuer (https URL "
            "of the IdP, as its discovery document names it), client_id, client_secret or "
            "client_secret_file (a file holding only the secret), scopes (default openid "
            "profile email) and localpart_claim (default preferred_username: mapped to a "
            "localpart as SCIM maps userName, lowercased up to any @), create_accounts "
            "(default false: SSO logs in existing accounts only, made by an admin or SCIM; "
            "true: a person the IdP signs in who has no account gets one, without a password) "
            "displayname_claim (default name: the new account's display name), brand (the "
            "spec's IdP brand, e.g. google or apple, for the client's logo) and icon (an "
            "mxc:// URI of its picture). Register "
            "PUBLIC_BASEURL/_bastion/sso/callback as the redirect URI at the IdP. Empty: no SSO."
        ),
    ] = ()
    client_redirects: Annotated[
        tuple[str, ...],
        _doc(
            "Client URL prefixes (e.g. https://chat.example.org/) that receive the login token "
            "at once. Any other client's redirectUrl gets a page asking the user to confirm "
            "the site first, so a phishing site cannot collect login tokens."
        ),
    ] = ()
    request_timeout_seconds: Annotated[
        float, _doc("Longest wait for the identity provider's discovery, keys and tokens.")
    ] = 10.0


def validate_sso(sso: SsoConfig) -> None:
    """Raise `SsoConfigError` for what types cannot express."""
    if sso.request_timeout_seconds <= 0:
        raise SsoConfigError("sso.request_timeout_seconds must be positive")
    ids = [provider.id for provider in sso.providers]
    for provider in sso.providers:
        if ids.count(provider.id) > 1:
            raise SsoConfigError(f"sso.providers[{provider.id!r}]: the id is used twice")
        _validate_provider(provider)
    for prefix in sso.client_redirects:
        if not is_safe_client_prefix(prefix):
            raise SsoConfigError(
                f"sso.client_redirects: {prefix!r} must be a URL whose host ends with a '/' "
                "(https://chat.example.org/) or an app's own scheme (im.fluffychat://)"
            )


def _validate_provider(provider: SsoProvider) -> None:
    where = f"sso.providers[{provider.id!r}]"
    if not _IDP_ID.fullmatch(provider.id):
        raise SsoConfigError(f"{where}: id must be 1-255 of A-Z a-z 0-9 . _ ~ -")
    if not provider.name.strip() or not provider.client_id:
        raise SsoConfigError(f"{where}: name and client_id must not be empty")
    _validate_issuer(where, provider.issuer)
    if bool(provider.client_secret) == bool(provider.client_secret_file):
        raise SsoConfigError(f"{where}: set exactly one of client_secret, client_secret_file")
    if "openid" not in provider.scopes:
        raise SsoConfigError(f"{where}: scopes must include openid")
    if provider.icon and not provider.icon.startswith("mxc://"):
        raise SsoConfigError(f"{where}: icon must be an mxc:// URI")
    if not provider.localpart_claim:
        raise SsoConfigError(f"{where}: localpart_claim must not be empty")


def _validate_issuer(where: str, issuer: str) -> None:
    url = urlsplit(issuer)
    if not url.hostname or url.query or url.fragment:
        raise SsoConfigError(f"{where}: issuer {issuer!r} is not an https URL")
    if url.scheme != "https" and not (url.scheme == "http" and url.hostname in _LOOPBACK):
        raise SsoConfigError(f"{where}: issuer {issuer!r} must use https")


def client_scheme(url: str) -> str | None:
    """The lowercased scheme of a URL a client app or browser may be sent to (no whitespace or
    control characters, a scheme a browser would not run or render in place); None if not.
    Shared by the configured prefixes and the clients' redirectUrl (services/sso/redirects.py)."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    scheme, sep, _ = url.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme) or scheme.lower() in UNSAFE_SCHEMES:
        return None
    return scheme.lower()


def is_safe_client_prefix(prefix: str) -> bool:
    """An http(s) prefix must close its host with a path; another scheme must be an app's."""
    scheme = client_scheme(prefix)
    if scheme is None:
        return False
    if scheme not in ("http", "https"):
        return True
    url = urlsplit(prefix)
    return bool(url.hostname) and url.path.startswith("/")


def read_secret_files(sso: SsoConfig, base: Path) -> SsoConfig:
    """Each `client_secret_file` (relative to the config's folder) read into `client_secret`."""
    providers = []
    for configured in sso.providers:
        provider = configured
        if configured.client_secret_file:
            path = base / configured.client_secret_file
            try:
                secret = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SsoConfigError(
                    f"sso.providers[{configured.id!r}]: cannot read client_secret_file: {exc}"
                ) from exc
            if not secret:
                raise SsoConfigError(f"sso.providers[{configured.id!r}]: {path} is empty")
            provider = msgspec.structs.replace(
                configured, client_secret=secret, client_secret_file=""
            )
        providers.append(provider)
    return msgspec.structs.replace(sso, providers=tuple(providers))
