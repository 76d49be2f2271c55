"""The SSO pages: a provider picker, the confirmation before a token goes to an untrusted site,
and readable refusals. Rendered with Jinja2's autoescaping: every value a client or an IdP
chose (the redirectUrl, an IdP's error text) is escaped. The headers are as strict as the admin
console's (console/headers.py): no script at all, only the one stylesheet below (by its hash),
no framing (click-jacking a "Continue" button), no referrer (the callback's URL names its code),
nothing cached (the confirmation link holds a login token).
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
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY: Final = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """`template` rendered with `values` (escaped), with the security headers."""
    body = _env.get_template(template).render(style=Markup(STYLE), **values)  # noqa: S704 - our constant
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def refusal(status: int, message: str) -> HTMLResponse:
    """A readable page saying why signing in cannot go on."""
    return page("message.html", status, title="Sign-in failed", message=message)
