"""The SSO pages: a provider picker, the confirmation before a token goes to an untrusted site,
the confirmation of a UIA action and its completion page, and readable refusals. Rendered with
Jinja2's autoescaping: every value a client or an IdP chose (the redirectUrl, an IdP's error
text) is escaped. The headers are as strict as the admin console's (console/headers.py): no
script (but the spec's fallback completion script below, on its own page) and no style but the
stylesheet below (each allowed by its hash only), no framing (click-jacking a "Continue"
button), no referrer (the callback's URL names its code), nothing cached (the confirmation link
holds a login token).

Pages are in the browser's language (its `Accept-Language`: English, Arabic right-to-left, or
Polish; catalogs under translations/, bastion/i18n): staff see them at every sign-in. Words that
come from elsewhere are translated here too: a refusal's message (services/sso/flow.py) and the
action a UIA session guards (services/uia.py) are msgids of this catalog.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bastion.i18n.languages import (
    bidi_isolate,
    choose_language,
    load_translations,
    text_direction,
    translated_environment,
)

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"
TRANSLATIONS_DIR: Final = Path(__file__).parent / "translations"

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


class _Language:
    """One language's compiled catalog and the environment that renders with it."""

    def __init__(self, language: str) -> None:
        self.code = language
        self.translations: Translations = load_translations(TRANSLATIONS_DIR, language)
        self.env: Environment = translated_environment(
            FileSystemLoader(TEMPLATES_DIR), self.translations
        )

    def render(self, template: str, values: dict[str, Any]) -> str:
        return self.env.get_template(template).render(
            style=Markup(STYLE),  # noqa: S704 - our constant
            lang=self.code,
            dir=text_direction(self.code),
            bdi=bidi_isolate,
            **values,
        )


@cache
def _language(code: str) -> _Language:
    return _Language(code)


def _language_of(request: Request) -> _Language:
    """The browser's language: the pages are reached before any session or cookie of ours."""
    return _language(choose_language((), request.headers.get("accept-language")))


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """`template` rendered with `values` (escaped) in the browser's language, with the security
    headers."""
    body = _language_of(request).render(template, values)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def reauth_page(request: Request, action: str, **values: Any) -> HTMLResponse:
    """The UIA fallback page asking to confirm `action` (a msgid, services/uia.py UiaAction)."""
    language = _language_of(request)
    body = language.render(
        "reauth.html", values | {"action": language.translations.gettext(action)}
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


def auth_done(request: Request, provider_name: str) -> HTMLResponse:
    """The UIA fallback's completion page: it runs the spec's script, so the client retries."""
    values = {"script": Markup(AUTH_DONE_SCRIPT), "provider_name": provider_name}  # noqa: S704 - our constant
    body = _language_of(request).render("reauth_done.html", values)
    return HTMLResponse(body, headers=_AUTH_DONE_HEADERS)


def refusal(request: Request, status: int, message: str, **values: str) -> HTMLResponse:
    """A readable page saying why signing in cannot go on: `message` is an English msgid whose
    `%(name)s` placeholders `values` fill (escaped, as everything on the page)."""
    language = _language_of(request)
    text = language.translations.gettext(message) % values
    body = language.render("message.html", {"message": text})
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
