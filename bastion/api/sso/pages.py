"""The SSO pages: a provider picker, the confirmation before a token goes to an untrusted site,
the confirmation of a UIA action and its completion page, and readable refusals. Rendered with
Jinja2's autoescaping: every value a client or an IdP chose (the redirectUrl, an IdP's error
text) is escaped. The headers are as strict as the admin console's (console/headers.py): no
script (but the spec's fallback completion script below, on its own page) and no style but the
stylesheet below (each allowed by its hash only), no framing (click-jacking a "Continue"
button), no referrer (the callback's URL names its code), nothing cached (the confirmation link
holds a login token).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1d22}a.button{display:inline-block;padding:.6rem 1.2rem;"
    "background:#0b6e4f;color:#fff;border-radius:.4rem;text-decoration:none}"
    "li{margin:.5rem 0}.site{font-weight:bold;word-break:break-all}"
)
# spec: client-server-api#fallback: what the page runs once the stage is complete, so the client
# (an embedded browser's `onAuthDone`, or the window that opened this one) retries its request.
AUTH_DONE_SCRIPT: Final = (
    "if (window.onAuthDone) { window.onAuthDone(); }"
    " else if (window.opener && window.opener.postMessage) {"
    ' window.opener.postMessage("authDone", "*"); }'
)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


CONTENT_SECURITY_POLICY: Final = (
    f"default-src 'none'; style-src 'sha256-{_sha256(STYLE)}'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# The completion page of the UIA fallback, the only one with a script: that one, by its hash.
_AUTH_DONE_HEADERS: Final = SECURITY_HEADERS | {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY
    + f"; script-src 'sha256-{_sha256(AUTH_DONE_SCRIPT)}'"
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """`template` rendered with `values` (escaped), with the security headers."""
    body = _env.get_template(template).render(style=Markup(STYLE), **values)  # noqa: S704 - ours
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def auth_done(provider_name: str) -> HTMLResponse:
    """The UIA fallback's completion page: it runs the spec's script, so the client retries."""
    body = _env.get_template("reauth_done.html").render(
        style=Markup(STYLE),  # noqa: S704 - our constant
        script=Markup(AUTH_DONE_SCRIPT),  # noqa: S704 - our constant
        title="Confirmed",
        provider_name=provider_name,
    )
    return HTMLResponse(body, headers=_AUTH_DONE_HEADERS)


def refusal(status: int, message: str) -> HTMLResponse:
    """A readable page saying why signing in cannot go on."""
    return page("message.html", status, title="Sign-in failed", message=message)
