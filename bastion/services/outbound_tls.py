"""The certificate authorities the server's own `https://` calls trust.

certifi's bundle, unless the standard variables name others: `SSL_CERT_FILE` (a PEM bundle) or
`SSL_CERT_DIR` (a hashed directory), as curl, Python and httpx read them. An organisation trusts
its own authority (a bridge's certificate, a TLS-inspecting egress proxy) once, for every
outbound call: sign-in providers and push gateways (services/outbound_http.py), application
services and link previews (whose clients ignore the rest of the environment, the proxy
variables among them). Each takes this context.

A variable naming something unreadable is the operator's mistake, found before the server
starts: `bastion serve` and `bastion check-config` call `trusted_authorities()` and stop with one
line naming the variable (ConfigError), rather than a traceback or a failure at the first call.
"""

from __future__ import annotations

import os
import ssl

import httpx

from bastion.config import ConfigError

CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")  # in the order httpx reads them


def trusted_authorities() -> ssl.SSLContext:
    """A client TLS context verifying against the authorities above (built anew: loading a
    bundle costs milliseconds, so a caller builds it once and keeps it)."""
    directory = os.environ.get("SSL_CERT_DIR")
    if directory and not os.environ.get("SSL_CERT_FILE") and not os.path.isdir(directory):
        # read lazily, at each handshake: a missing one would fail every call, silently
        raise ConfigError(f"SSL_CERT_DIR={directory}: not a directory of certificate authorities")
    try:
        return httpx.create_ssl_context(trust_env=True)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        variable = next((name for name in CA_VARIABLES if os.environ.get(name)), "certifi")
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ConfigError(
            f"{variable}={os.environ.get(variable, '')!s}: not usable as certificate authorities"
            f" ({reason})"
        ) from exc
