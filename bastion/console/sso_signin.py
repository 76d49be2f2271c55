"""Signing in to the console with the organisation's identity provider (docs/console.md), so
the provider's own rules (MFA, conditional access, disabled accounts) guard admin access too.

The console is a client of the server's SSO flow (api/sso/, services/sso/), like Element:
"Sign in with <provider>" (`GET /admin/login/sso/{idpId}`) sends the browser to
`/login/sso/redirect/{idpId}` with a `redirectUrl` of `/admin/login/sso/done` (trusted by the
flow, so no confirmation page), and the done page takes the login token once
(`ConsoleSessions.sign_in_with_login_token`: the same limiter and account checks as `POST
/login`, admins only, audited as `console.login` with `method: sso:<idp>`).

Login CSRF: the start sets a random `state` in a cookie and in the `redirectUrl`; the done page
accepts only the browser holding both, so nobody can sign a victim's browser into their own
console account with a token of theirs. That cookie is SameSite=Lax, because it returns at the
end of a cross-site redirect chain (the IdP's). For the same reason the done page does not
redirect: a Strict session cookie set at the end of such a chain is not sent on a redirect that
continues it, so the page moves on itself (a same-site navigation, `<meta http-equiv=refresh>`).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bastion.console.errors import error_message
from bastion.console.pages import (
    ROOT,
    SESSION_COOKIE,
    CsrfRejected,
    language_of,
    render,
    safe_next,
    services_of,
)
from bastion.console.signin import SIGNIN_COOKIE, set_console_cookie, sign_in_form
from bastion.console.transport import client_ip
from bastion.errors import Errcode, MatrixError
from bastion.services.console.sessions import NotAnAdmin

DONE_PATH = f"{ROOT}/login/sso/done"
STATE_COOKIE = "bastion_console_sso"
_STATE_LIFETIME_SECONDS = 600  # as long as the flow's own session (services/sso/flow.py)
# Where the client API's SSO redirect lives (api/routes.py mounts it under every client prefix).
_SSO_REDIRECT = "/_matrix/client/v3/login/sso/redirect"


async def start(request: Request) -> Response:
    """GET /admin/login/sso/{idpId}?next=PATH"""
    services = services_of(request)
    idp_id = request.path_params["idpId"]
    if services.sso.provider(idp_id) is None:
        raise MatrixError(404, Errcode.NOT_FOUND, f"unknown identity provider {idp_id!r}")
    state = secrets.token_urlsafe(24)
    next_path = safe_next(request.query_params.get("next"))
    done = services.info.public_baseurl.rstrip("/") + DONE_PATH
    done += "?" + urlencode({"state": state, "next": next_path})
    location = f"{_SSO_REDIRECT}/{quote(idp_id, safe='')}?" + urlencode({"redirectUrl": done})
    response = RedirectResponse(location, status_code=303)
    set_console_cookie(
        request, response, STATE_COOKIE, state, same_site="lax", max_age=_STATE_LIFETIME_SECONDS
    )
    return response


async def done(request: Request) -> Response:
    """GET /admin/login/sso/done?state=&next=&loginToken="""
    query = request.query_params
    expected = request.cookies.get(STATE_COOKIE, "")
    if not expected or not hmac.compare_digest(query.get("state", "").encode(), expected.encode()):
        raise CsrfRejected
    next_path = safe_next(query.get("next"))
    sessions = services_of(request).console_sessions
    response: Response
    try:
        cookie, _session = await sessions.sign_in_with_login_token(
            query.get("loginToken", ""), client_ip(request), language_of(request)
        )
    except NotAnAdmin:
        response = render(request, "refused.html", status=403, sso=True)
    except MatrixError as exc:
        response = sign_in_form(request, next_path, error_message(exc), status=exc.status)
    else:
        response = render(request, "signed_in.html", next=next_path)
        set_console_cookie(request, response, SESSION_COOKIE, cookie)
        response.delete_cookie(SIGNIN_COOKIE, path=ROOT, httponly=True, samesite="strict")
    response.delete_cookie(STATE_COOKIE, path=ROOT, httponly=True, samesite="lax")
    return response


ROUTES: list[BaseRoute] = [
    Route("/login/sso/done", done, methods=["GET"]),
    Route("/login/sso/{idpId}", start, methods=["GET"]),
]
