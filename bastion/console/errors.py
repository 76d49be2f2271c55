"""How the console answers what goes wrong: never a traceback, always a translated page.

- No session → 303 to the sign-in page, remembering where the admin was going (GET only).
- A wrong or missing CSRF token → a 403 page; nothing was done.
- A service's `MatrixError` → its status with a page explaining it in the admin's language
  (the errcode picks the sentence; the service's English detail is shown beneath it).
- An unknown console path → a 404 page.
- A path or query string that is not text (a NUL, invalid UTF-8) → a 400 page before routing
  (`RefuseUnusableText`; the HTTP edge leaves the console's paths to it).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.console.pages import ROOT, CsrfRejected, SignInRequired, redirect, render
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.request_text import unusable_text

# errcode → the sentence shown; anything else gets GENERIC.
MESSAGES: Final = {
    Errcode.FORBIDDEN: N_("This action is not allowed."),
    Errcode.NOT_FOUND: N_("It does not exist, or no longer exists."),
    Errcode.LIMIT_EXCEEDED: N_("Too many attempts. Wait a moment and try again."),
    Errcode.USER_LOCKED: N_("This account is locked."),
    Errcode.USER_SUSPENDED: N_("This account is suspended."),
    Errcode.USER_DEACTIVATED: N_("This account has been deactivated."),
    Errcode.USER_IN_USE: N_("This user ID is already taken."),
    Errcode.INVALID_USERNAME: N_("This user ID is not valid."),
    Errcode.WEAK_PASSWORD: N_("This password is too weak."),
    Errcode.INVALID_PARAM: N_("A value in the form is not valid."),
    Errcode.MISSING_PARAM: N_("A required value is missing."),
    Errcode.BAD_JSON: N_("A value in the form is not valid."),
}
GENERIC: Final = N_("The server refused this action.")


def error_message(exc: MatrixError) -> str:
    """The msgid explaining `exc` to an admin."""
    return MESSAGES.get(exc.errcode, GENERIC)  # StrEnum keys hash (and compare) as their str


async def sign_in_required(request: Request, exc: Exception) -> Response:
    target = f"{ROOT}/login"
    if request.method == "GET" and request.url.path != f"{ROOT}/login":
        target += "?next=" + quote(request.url.path, safe="/")
    return redirect(target)


async def csrf_rejected(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        status=403,
        title=N_("Request refused"),
        message=N_(
            "This form was out of date or did not come from the console, so nothing was done. "
            "Go back, reload the page and try again."
        ),
        detail="",
    )


async def matrix_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MatrixError)
    return render(
        request,
        "error.html",
        status=exc.status,
        title=N_("Something went wrong"),
        message=error_message(exc),
        detail=exc.message,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        title, message = N_("Page not found"), N_("There is no such page in the console.")
    else:
        title, message = N_("Something went wrong"), GENERIC
    return render(request, "error.html", status=exc.status_code, title=title, message=message,
                  detail="")  # fmt: skip


EXCEPTION_HANDLERS: Final = {
    SignInRequired: sign_in_required,
    CsrfRejected: csrf_rejected,
    MatrixError: matrix_error,
    HTTPException: http_error,
}


class RefuseUnusableText:
    """ASGI middleware: a request whose path or query is not text gets the 400 error page and
    reaches no route (request_text.py says why such text is refused)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (problem := unusable_text(scope)) is not None:
            # The page is rendered for the console's root: the path itself cannot be shown.
            root = f"{ROOT}/"
            shown = {**scope, "path": root, "raw_path": root.encode(), "query_string": b""}
            error = MatrixError(400, Errcode.INVALID_PARAM, problem)
            response = await matrix_error(Request(shown), error)
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)
