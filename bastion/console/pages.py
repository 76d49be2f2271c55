"""The helpers every console page uses: its session, its form, its rendering, flash messages.

A page handler reads like this (docs/console.md, "Adding a page"):

    async def person(request: Request) -> Response:
        session = await require_session(request)          # else: redirect to sign-in
        details = await services_of(request).admin_users.details(session.requester, user_id)
        return render(request, "people/person.html", person=details)

    async def lock(request: Request) -> Response:
        session = await require_session(request)
        form = await read_form(request)                    # else: 403 page (CSRF)
        await services_of(request).admin_users.lock(session.requester, user_id)
        flash(request, N_("Account locked."))
        return redirect(f"{ROOT}/people/...")

A `MatrixError` a service raises is shown as a translated message (`errors.py`), never a 500.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from bastion.api.context import Services
from bastion.console import i18n
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_, bidi_isolate, translated_environment
from bastion.services.console.sessions import ConsoleSession

ROOT: Final = "/admin"
SESSION_COOKIE: Final = "bastion_console"
LANGUAGE_COOKIE: Final = "lang"
SERVICES_SCOPE_KEY: Final = "bastion.services"
TEMPLATES_DIR: Final = i18n.TRANSLATIONS_DIR.parent / "templates"
_MAX_FLASHES: Final = 10


# The navigation on every page: (path under ROOT, label).
NAV: Final = (
    ("", N_("Dashboard")),
    ("/people", N_("People")),
    ("/rooms", N_("Rooms")),
    ("/reports", N_("Reports")),
    ("/policy", N_("Policy")),
    ("/compliance", N_("Compliance")),
    ("/storage", N_("Storage")),
    ("/audit", N_("Audit")),
    ("/integrations", N_("Integrations")),
)


class SignInRequired(Exception):
    """No live session: the handler in errors.py redirects to the sign-in page."""


class CsrfRejected(Exception):
    """A POST whose `csrf_token` is not the session's: answered with a 403 page."""


@dataclass(frozen=True, slots=True)
class Flash:
    """A message shown once on the next page: `message` is a msgid, `params` fill it."""

    message: str
    level: str = "info"  # info | error
    params: Mapping[str, object] = field(default_factory=dict)


class ConsoleState:
    """What the console keeps in memory: a Jinja2 environment per language, pending flashes."""

    def __init__(self) -> None:
        self.environments = {language: _environment(language) for language in i18n.LANGUAGES}
        self.flashes: dict[str, list[Flash]] = {}


def _environment(language: str) -> Environment:
    loader = FileSystemLoader(TEMPLATES_DIR)
    return translated_environment(loader, i18n.load_translations(language), trim=True)


def services_of(request: Request) -> Services:
    """The services (the serving app's, handed to the console by `app.ServicesBridge`)."""
    services: Services = request.scope[SERVICES_SCOPE_KEY]
    return services


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


async def current_session(request: Request) -> ConsoleSession | None:
    """The live session of this request's cookie, or None (resolved once per request)."""
    if "console_session" in request.scope:
        cached: ConsoleSession | None = request.scope["console_session"]
        return cached
    cookie = request.cookies.get(SESSION_COOKIE)
    session = None
    if cookie:
        session = await services_of(request).console_sessions.resolve(cookie)
    request.scope["console_session"] = session
    return session


async def require_session(request: Request) -> ConsoleSession:
    """The signed-in admin's session; raises SignInRequired (→ the sign-in page) otherwise."""
    session = await current_session(request)
    if session is None:
        raise SignInRequired
    return session


def check_csrf(request: Request, form: FormData) -> None:
    """Raise CsrfRejected unless the form's `csrf_token` is the session's (after
    `require_session`)."""
    session: ConsoleSession | None = request.scope.get("console_session")
    sent = form.get("csrf_token")
    if session is None or not isinstance(sent, str):
        raise CsrfRejected
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise CsrfRejected


async def read_form(request: Request) -> FormData:
    """The POSTed form of a signed-in admin, its CSRF token checked, every value text without
    NUL (PostgreSQL refuses NUL in text; invalid UTF-8 arrives as U+FFFD): else a 400 page."""
    await require_session(request)
    form = await request.form()
    check_csrf(request, form)
    if any(isinstance(value, str) and "\x00" in value for _name, value in form.multi_items()):
        raise MatrixError(400, Errcode.INVALID_PARAM, "form values must not contain NUL")
    return form


BIGGEST_POSITION: Final = 2**63 - 1  # a database integer: a larger page start names no row


def query_position(request: Request, name: str) -> int:
    """A page's start (`from`, `start`) from the query: 0 when absent or empty; a 400 page
    for anything but a whole number (an edited or truncated link: showing the first page instead
    would look like the listing starting over) or one past what a database integer holds (no
    row is there; the query would fail)."""
    raw = request.query_params.get(name, "")
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{name} must be a whole number")
    value = int(raw)
    if value > BIGGEST_POSITION:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{name} is past any position")
    return value


def form_text(form: FormData, name: str) -> str:
    """A text field of `form`, stripped; '' when absent (or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def flash(request: Request, message: str, level: str = "info", **params: object) -> None:
    """Show `message` (a msgid, marked with N_) on the next page this session renders."""
    session: ConsoleSession | None = request.scope.get("console_session")
    if session is None:
        return
    queue = console_state(request).flashes.setdefault(session.session_hash, [])
    # Names, IDs and numbers inside translated text are isolated (bidi) from the sentence.
    isolated = {name: bidi_isolate(value) for name, value in params.items()}
    queue.append(Flash(message, level, isolated))
    del queue[:-_MAX_FLASHES]


def language_of(request: Request) -> str:
    """The language of this response (see i18n.py for the order)."""
    session: ConsoleSession | None = request.scope.get("console_session")
    return i18n.choose_language(
        (request.cookies.get(LANGUAGE_COOKIE), session.language if session else None),
        request.headers.get("accept-language"),
    )


def redirect(path: str) -> RedirectResponse:
    """Post/Redirect/Get: a 303 to `path` (a path under ROOT)."""
    return RedirectResponse(path, status_code=303)


def safe_next(path: str | None) -> str:
    """`path` if it is a console page, else the dashboard: never an open redirect."""
    if path and path.startswith(f"{ROOT}/") and not path.startswith("//") and "\\" not in path:
        return path
    return f"{ROOT}/"


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` (which extends base.html) in the request's language."""
    language = language_of(request)
    session: ConsoleSession | None = request.scope.get("console_session")
    state = console_state(request)
    flashes = state.flashes.pop(session.session_hash, []) if session else []
    page = state.environments[language].get_template(template)
    html = page.render(
        root=ROOT,
        lang=language,
        dir=i18n.text_direction(language),
        languages=[(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        session=session,
        csrf_token=session.csrf_token if session else "",
        nav=NAV,
        path=request.url.path,
        flashes=flashes,
        number=lambda value: i18n.format_number(value, language),
        size=lambda value: i18n.format_size(value, language),
        when=lambda ts: i18n.format_timestamp(ts, language),
        day_of_month=lambda ts: i18n.format_day_of_month(ts, language),
        day=lambda ts: i18n.format_day(ts, language),
        bdi=bidi_isolate,
        **context,
    )
    return HTMLResponse(html, status_code=status)
