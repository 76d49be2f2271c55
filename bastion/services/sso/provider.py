"""One OpenID Connect provider as Bastion talks to it: discovery, signing keys, the code exchange.

The discovery document (`<issuer>/.well-known/openid-configuration`) is fetched on first use
and kept for a day (then fetched again; the older copy serves while a refetch fails); its
`issuer` must be the configured one exactly (OpenID Connect Discovery 4.3), else
an IdP could name itself another. The keys (`jwks_uri`) are kept too and fetched again, once,
when an ID token names a key we do not have (the IdP rotated its keys). A failed fetch is not
kept: the next sign-in tries again. Every request has the configured timeout and follows no
redirect; any failure is an `IdpUnavailable`, which the pages show as "try again later".
The transport is injectable (tests use a loopback IdP, or httpx's MockTransport).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx
import msgspec
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from bastion.clock import Clock
from bastion.config_sso import SsoProvider
from bastion.services.outbound_http import OutboundClient

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_MAX_DOCUMENT_BYTES = 512 * 1024
METADATA_MAX_AGE_S = 24 * 3600.0
METADATA_RETRY_S = 300.0  # after a failed refetch, while the older copy serves


class IdpUnavailable(Exception):
    """The identity provider did not answer, or not as OpenID Connect says it must."""


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    """How the last reads of the discovery document went, for the admin console: when it was
    last read, and the last failure (when and why) if that is the latest outcome."""

    fetched_ms: int | None = None
    failed_ms: int | None = None
    error: str = ""


class ProviderMetadata(msgspec.Struct, frozen=True):
    """The fields of the discovery document Bastion uses (OpenID Connect Discovery 3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods_supported: list[str] = msgspec.field(
        default_factory=lambda: ["client_secret_basic"]  # the default Discovery 3 names
    )


class OidcProvider:
    """The configured provider `config`, with its discovery document and keys cached."""

    def __init__(
        self,
        config: SsoProvider,
        timeout_s: float,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._http = OutboundClient(timeout_s, transport, {"Accept": "application/json"})
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._metadata_fetched = 0.0  # clock.monotonic() of the last successful fetch
        self._keys: KeySet | None = None
        self.health = ProviderHealth()

    @property
    def issuer(self) -> str:
        return self.config.issuer

    async def metadata(self) -> ProviderMetadata:
        """The discovery document: fetched on first use and again once it is older than
        `METADATA_MAX_AGE_S` (an IdP may move its endpoints), the older copy kept if that
        refetch fails, so a brief outage of the discovery URL alone stops no sign-in."""
        now = self._clock.monotonic()
        if self._metadata is not None and now - self._metadata_fetched < METADATA_MAX_AGE_S:
            return self._metadata
        try:
            self._metadata = await self._fetch_metadata()
            self._metadata_fetched = now
            self.health = ProviderHealth(fetched_ms=self._clock.now_ms())
        except IdpUnavailable as exc:
            self.health = ProviderHealth(self.health.fetched_ms, self._clock.now_ms(), str(exc))
            if self._metadata is None:
                raise
            log.warning("SSO provider %s: keeping its older discovery document: %s",
                        self.config.id, exc)  # fmt: skip
            self._metadata_fetched = now - METADATA_MAX_AGE_S + METADATA_RETRY_S
        return self._metadata

    async def _fetch_metadata(self) -> ProviderMetadata:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        metadata = _convert(await self._get_json(url), ProviderMetadata, url)
        if metadata.issuer != self.issuer:
            raise IdpUnavailable(
                f"discovery document names issuer {metadata.issuer!r}, not {self.issuer!r}"
            )
        _require_scheme(metadata, urlsplit(self.issuer).scheme)
        return metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's public keys; `refresh` fetches them again (an unknown `kid`)."""
        if self._keys is None or refresh:
            url = (await self.metadata()).jwks_uri
            document = await self._get_json(url)
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]  # checked by joserfc
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise IdpUnavailable(f"{url}: not a JSON Web Key Set ({exc})") from exc
        return self._keys

    async def authorization_url(self, params: dict[str, str]) -> str:
        """The IdP's authorization endpoint with `params` added to its own query."""
        endpoint = (await self.metadata()).authorization_endpoint
        separator = "&" if "?" in endpoint else "?"
        return endpoint + separator + urlencode(params, quote_via=quote)

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> str:
        """The ID token the token endpoint gives for `code` (RFC 6749 4.1.3, RFC 7636 4.5)."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {}
        methods = metadata.token_endpoint_auth_methods_supported
        if "client_secret_basic" not in methods and "client_secret_post" in methods:
            form["client_id"] = self.config.client_id
            form["client_secret"] = self.config.client_secret
        else:  # RFC 6749 2.3.1: each part form-encoded before the Basic encoding
            pair = f"{quote(self.config.client_id, safe='')}:"
            pair += quote(self.config.client_secret, safe="")
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        try:
            response = await self._http.client().post(
                metadata.token_endpoint, data=form, headers=headers
            )
        except httpx.HTTPError as exc:
            raise IdpUnavailable(f"{metadata.token_endpoint}: {type(exc).__name__}") from exc
        body = _json_object(response, metadata.token_endpoint)
        if response.status_code != 200:
            raise IdpUnavailable(
                f"token endpoint answered {response.status_code}: {body.get('error')!r}"
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise IdpUnavailable("token endpoint answered without an id_token")
        return id_token

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.client().get(url)
        except httpx.HTTPError as exc:
            raise IdpUnavailable(f"{url}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise IdpUnavailable(f"{url} answered {response.status_code}")
        return _json_object(response, url)

    async def close(self) -> None:
        await self._http.close()


def _require_scheme(metadata: ProviderMetadata, scheme: str) -> None:
    """Endpoints use the issuer's scheme: https (http only for a loopback issuer, config_sso)."""
    for url in (metadata.authorization_endpoint, metadata.token_endpoint, metadata.jwks_uri):
        if urlsplit(url).scheme != scheme:
            raise IdpUnavailable(f"discovery document endpoint {url!r} is not {scheme}")


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    if len(response.content) > _MAX_DOCUMENT_BYTES:
        raise IdpUnavailable(f"{url}: answer too large")
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError as exc:
        raise IdpUnavailable(f"{url}: not JSON") from exc
    if not isinstance(body, dict):
        raise IdpUnavailable(f"{url}: not a JSON object")
    return body


def _convert(document: dict[str, Any], kind: type[_T], url: str) -> _T:
    try:
        return msgspec.convert(document, kind)
    except msgspec.ValidationError as exc:
        raise IdpUnavailable(f"{url}: {exc}") from exc
