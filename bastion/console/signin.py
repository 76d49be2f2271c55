"""Sign-in, sign-out and the language switcher.

The session cookie is HttpOnly, SameSite=Strict, Path=/admin, and Secure when the request came
over HTTPS (directly or through a trusted proxy): `transport.py`. It carries no expiry (a browser
session cookie); the server ends an idle session (`ConsoleSessions.resolve`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Literal
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.console import i18n
from bastion.console.errors import error_message
from bastion.console.pages import (
    LANGUAGE_COOKIE,
    ROOT,
    SESSION_COOKIE,
    CsrfRejected,
    current_session,
    form_text,
    language_of,
    read_form,
    redirect,
    render,
    require_session,
    safe_next,
    services_of,
)
from bastion.console.transport import TransportSecurity, client_ip
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.console.sessions import NotAnAdmin, PasswordSignInOff, SignInAttempt

_YEAR_SECONDS = 365 * 24 * 3600
SIGNIN_COOKIE = "bastion_console_signin"


def _transport(request: Request) -> TransportSecurity:
    transport: TransportSecurity = request.app.state.transport
    return transport


def set_console_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    same_site: Literal["strict", "lax"] = "strict",
    max_age: int | None = None,
) -> None:
    """A console cookie: HttpOnly, Path=/admin, Secure over HTTPS; SameSite=Strict unless a
    cross-site redirect must bring it back (the SSO state: Lax)."""
    response.set_cookie(
        name, value, max_age=max_age, path=ROOT, httponly=True,
        samesite=same_site,
        secure=_transport(request).is_https(request),
    )  # fmt: skip


def signed_in(request: Request, cookie: str, next_path: str) -> Response:
    """The answer to a successful sign-in: the session cookie, the sign-in cookie dropped."""
    response = redirect(safe_next(next_path))
    set_console_cookie(request, response, SESSION_COOKIE, cookie)
    response.delete_cookie(SIGNIN_COOKIE, path=ROOT, httponly=True, samesite="strict")
    return response


async def sign_in_page(request: Request) -> Response:
    """GET /admin/login"""
    if await current_session(request) is not None:
        return redirect(safe_next(request.query_params.get("next")))
    return sign_in_form(request, request.query_params.get("next", ""), None)


async def sign_in(request: Request) -> Response:
    """POST /admin/login: a password check, then a session; a non-admin is refused."""
    form = await request.form()
    attempt = SignInAttempt(
        user=form_text(form, "user"),
        password=form.get("password") if isinstance(form.get("password"), str) else "",  # type: ignore[arg-type]  # narrowed by isinstance
        ip=client_ip(request),
        language=language_of(request),
    )
    next_path = form_text(form, "next")
    if not _sign_in_token_matches(request, form_text(form, "signin_token")):
        raise CsrfRejected
    try:
        cookie, _session = await services_of(request).console_sessions.sign_in(attempt)
    except NotAnAdmin:
        return render(request, "refused.html", status=403)
    except MatrixError as exc:
        return sign_in_form(request, next_path, _sign_in_error(exc), status=exc.status)
    return signed_in(request, cookie, next_path)


def _sign_in_token_matches(request: Request, sent: str) -> bool:
    """The sign-in form's double-submit token (login CSRF: no session exists yet)."""
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def sign_in_form(
    request: Request, next_path: str, error: str | None, status: int = 200
) -> Response:
    """The sign-in page: the password form, and a link per identity provider when SSO is on."""
    token = secrets.token_urlsafe(24)
    providers = [
        (p.config.name, sso_start_path(p.config.id, next_path))
        for p in services_of(request).sso.providers
    ]
    response = render(
        request, "signin.html", status=status, next=next_path, error=error, signin_token=token,
        providers=providers,
        password_sign_in=services_of(request).console_sessions.password_sign_in,
    )  # fmt: skip
    set_console_cookie(request, response, SIGNIN_COOKIE, token)
    return response


def sso_start_path(idp_id: str, next_path: str) -> str:
    """Where "Sign in with <provider>" goes (console/sso_signin.py)."""
    query = urlencode({"next": next_path}) if next_path else ""
    return f"{ROOT}/login/sso/{quote(idp_id, safe='')}" + (f"?{query}" if query else "")


def _sign_in_error(exc: MatrixError) -> str:
    if isinstance(exc, PasswordSignInOff):
        return N_("Password sign-in is turned off: sign in with your organisation's account.")
    if exc.errcode == Errcode.FORBIDDEN:
        return N_("Wrong user ID or password.")
    return error_message(exc)


async def sign_out(request: Request) -> Response:
    """POST /admin/logout"""
    session = await require_session(request)
    await read_form(request)
    await services_of(request).console_sessions.sign_out(session)
    response = redirect(f"{ROOT}/login")
    response.delete_cookie(SESSION_COOKIE, path=ROOT, httponly=True, samesite="strict")
    return response


async def switch_language(request: Request) -> Response:
    """GET /admin/language/{language}?next=PATH: remember the language, go back."""
    language = i18n.supported(request.path_params["language"]) or i18n.DEFAULT_LANGUAGE
    session = await current_session(request)
    if session is not None:
        await services_of(request).console_sessions.set_language(session, language)
    response = redirect(safe_next(request.query_params.get("next")))
    set_console_cookie(request, response, LANGUAGE_COOKIE, language, max_age=_YEAR_SECONDS)
    return response


ROUTES: list[BaseRoute] = [
    Route("/login", sign_in_page, methods=["GET"]),
    Route("/login", sign_in, methods=["POST"]),
    Route("/logout", sign_out, methods=["POST"]),
    Route("/language/{language}", switch_language, methods=["GET"]),
]
