"""A small OpenID Connect provider on 127.0.0.1 for the SSO tests (tests/api/test_sso*.py).

It serves what Bastion reads of a real IdP (Entra ID, Keycloak, Okta): the discovery document,
its keys (an RSA and an EC key made per test), an authorization endpoint that signs the user in
at once and redirects back with a code, and a token endpoint that checks the client's secret,
the redirect URI and the PKCE verifier before answering with an ID token. A test changes what
it answers through plain attributes: `username`, `claims` (merged into the ID token's),
`forge` (replaces the signed token), `failing` (every endpoint answers 500), `signing_kid`.
Times in the ID token come from the test's FakeClock, as Bastion checks them against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from bastion.clock import FakeClock
from tests.loopback_json import LoopbackServer

CLIENT_ID = "bastion-client"
CLIENT_SECRET = "idp-client-secret"


@dataclass
class Authorization:
    """What the authorization endpoint was asked, kept per code for the token endpoint."""

    params: dict[str, str]
    redeemed: bool = False


@dataclass
class OidcTestProvider:
    clock: FakeClock
    username: str = "alice"
    claims: dict[str, Any] = field(default_factory=dict)
    forge: Callable[[dict[str, Any], dict[str, Any]], str] | None = None
    failing: bool = False
    discovery_failing: bool = False  # only the discovery document fails
    discoveries: int = 0  # how often the discovery document was fetched
    signing_kid: str = "rsa-1"
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keys: dict[str, RSAKey | ECKey] = {
            "rsa-1": RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"}),
            "ec-1": ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"}),
        }
        self._codes: dict[str, Authorization] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(_handler(self))

    @property
    def issuer(self) -> str:
        return self._server.base_url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def add_key(self, key: RSAKey | ECKey) -> None:
        """Publish another key (a rotation)."""
        self.keys[str(key.kid)] = key

    # The endpoints. Each returns (status, headers, body).

    def answer(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.failing:
            return 500, {}, b"down"
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if method == "GET" and url.path == "/.well-known/openid-configuration":
            self.discoveries += 1
            return (500, {}, b"down") if self.discovery_failing else _json(200, self.discovery())
        if method == "GET" and url.path == "/jwks":
            return _json(200, {"keys": [k.as_dict(private=False) for k in self.keys.values()]})
        if method == "GET" and url.path == "/authorize":
            return self._authorize(query)
        if method == "POST" and url.path == "/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self._token(form, headers.get("Authorization"))
        return 404, {}, b"not found"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
        }

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.authorizations.append(query)
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = Authorization(query)
        back = {"code": code, "state": query.get("state", "")}
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}, b""

    def _token(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        self.token_requests.append(form)
        client = _client_credentials(form, authorization)
        if client != (CLIENT_ID, CLIENT_SECRET):
            return _json(401, {"error": "invalid_client"})
        with self._lock:
            grant = self._codes.get(form.get("code", ""))
            if grant is None or grant.redeemed:
                return _json(400, {"error": "invalid_grant"})
            grant.redeemed = True
        params = grant.params
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            form.get("redirect_uri") != params["redirect_uri"]
            or challenge.rstrip(b"=").decode() != params.get("code_challenge")
            or params.get("code_challenge_method") != "S256"
        ):
            return _json(400, {"error": "invalid_grant"})
        return _json(200, {"access_token": "at", "token_type": "Bearer",
                           "id_token": self.id_token(params.get("nonce"))})  # fmt: skip

    def id_token(self, nonce: str | None) -> str:
        now = self.clock.now_ms() // 1000
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": f"sub-{self.username}", "aud": CLIENT_ID,
            "iat": now, "exp": now + 300, "nonce": nonce,
            "preferred_username": f"{self.username}@corp.example",
        }  # fmt: skip
        claims.update(self.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.keys[self.signing_kid]
        header = {"alg": "ES256" if isinstance(key, ECKey) else "RS256", "kid": self.signing_kid}
        if self.forge is not None:
            return self.forge(header, claims)
        return jwt.encode(header, claims, key)


def _client_credentials(form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    if authorization and authorization.startswith("Basic "):
        raw = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        user, _, password = raw.partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler(provider: OidcTestProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, headers, body = provider.answer(self.command, self.path, self.headers, raw)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
