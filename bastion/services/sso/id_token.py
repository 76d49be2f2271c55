"""Checking an ID token (OpenID Connect Core 3.1.3.7) before trusting the identity it names.

Order: the header's algorithm must be an asymmetric one we accept (never `none`, never an HMAC:
a token "signed" with HS256 and the IdP's *public* key as secret is the classic forgery); the
key is the JWKS key the header names (the set is fetched again once for an unknown `kid`); the
signature is checked by joserfc with that one algorithm allowed; then the claims: `iss` is the
configured issuer, `aud` contains our client_id (and `azp`, when present or when there are
several audiences, is our client_id), `exp`, `iat` (and `nbf`) hold with a minute's leeway
against our clock, `nonce` is the one this sign-in sent, `sub` is present. Any failure is an
`InvalidIdToken` whose message names the check, for the server log (never shown in detail to
the browser).
"""

from __future__ import annotations

import hmac
from typing import Any, TypeGuard

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from bastion.services.sso.provider import OidcProvider

ALLOWED_ALGORITHMS = {
    "RS256": "RSA", "RS384": "RSA", "RS512": "RSA",
    "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
    "ES256": "EC", "ES384": "EC", "ES512": "EC",
}  # fmt: skip
LEEWAY_S = 60


class InvalidIdToken(Exception):
    """The ID token failed a check; the message says which."""


async def verify_id_token(
    provider: OidcProvider, token: str, *, nonce: str, now_ms: int
) -> dict[str, Any]:
    """The claims of `token` once every check above passed."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise InvalidIdToken(f"not a compact JWS: {exc}") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise InvalidIdToken(f"algorithm {alg!r} is not accepted")
    key = await _signing_key(provider, header.get("kid"), ALLOWED_ALGORITHMS[alg])
    try:
        claims = jwt.decode(token, key, algorithms=[alg]).claims
    except (JoseError, ValueError) as exc:
        raise InvalidIdToken(f"signature: {exc}") from exc
    _check_claims(claims, provider, nonce, now_ms // 1000)
    return claims


async def _signing_key(provider: OidcProvider, kid: object, key_type: str) -> RSAKey | ECKey:
    if kid is not None and not isinstance(kid, str):
        raise InvalidIdToken("kid is not a string")
    key = _find_key(await provider.keys(), kid, key_type)
    if key is None:  # the IdP may have rotated its keys since we fetched them
        key = _find_key(await provider.keys(refresh=True), kid, key_type)
    if key is None:
        raise InvalidIdToken(f"no {key_type} key {kid!r} in the provider's key set")
    return key


def _find_key(keys: KeySet, kid: str | None, key_type: str) -> RSAKey | ECKey | None:
    """The key named `kid`; without a `kid`, the one key of the type if there is one only."""
    candidates = [
        key
        for key in keys.keys
        if isinstance(key, RSAKey | ECKey)
        and key.key_type == key_type
        and (kid is None or key.kid == kid)
        and key.get("use", "sig") == "sig"
    ]
    return candidates[0] if len(candidates) == 1 else None


def _check_claims(claims: dict[str, Any], provider: OidcProvider, nonce: str, now: int) -> None:
    if claims.get("iss") != provider.issuer:
        raise InvalidIdToken(f"iss {claims.get('iss')!r} is not {provider.issuer!r}")
    client_id = provider.config.client_id
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise InvalidIdToken(f"aud {audience!r} does not contain our client_id")
    azp = claims.get("azp")
    if (azp is not None or len(audiences) > 1) and azp != client_id:
        raise InvalidIdToken(f"azp {azp!r} is not our client_id")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
    if not (_is_number(exp) and _is_number(iat) and _is_number(nbf)):
        raise InvalidIdToken("exp and iat must be numbers")
    if now >= exp + LEEWAY_S:
        raise InvalidIdToken(f"expired at {exp}, now {now}")
    if iat > now + LEEWAY_S or nbf > now + LEEWAY_S:
        raise InvalidIdToken(f"issued for the future ({iat}, not before {nbf}), now {now}")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise InvalidIdToken("nonce is not this sign-in's")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidIdToken("sub is missing")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
