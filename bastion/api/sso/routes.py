"""GET /login/sso/redirect[/{idpId}] and the IdP's callback, /_bastion/sso/callback; and the
m.login.sso stage of User-Interactive Auth: its fallback page
(`GET /auth/m.login.sso/fallback/web?session=`, spec: client-server-api#fallback) names the
action the session guards and links to `/_bastion/sso/reauth/{idpId}?session=`, which starts a
sign-in that confirms the session instead of logging in (the spec's "Confirming the operation":
the user sees what is asked before the provider, which may sign them in silently, is reached).

The redirect sets the cookie that binds the sign-in to this browser: random, HttpOnly, Secure
when the public base URL is https, SameSite=Lax (the IdP's redirect back is a top-level GET,
which Lax lets through), and sent only to the callback's path; named after the sign-in's state
(`SsoService.cookie_name`), so sign-ins side by side in one browser each keep theirs. The
callback clears it, whatever the outcome. The errors of the redirect endpoint a client may
read are Matrix JSON (400 M_MISSING_PARAM, 404 M_NOT_FOUND); everything after the browser left
the client is a page.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import client_ip
from bastion.api.sso.pages import SECURITY_HEADERS, auth_done, page, reauth_page, refusal
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.sso.flow import (
    CALLBACK_PATH,
    SESSION_LIFETIME_MS,
    Callback,
    Reauthenticated,
    SsoRefused,
)
from bastion.services.sso.provider import IdpUnavailable, OidcProvider
from bastion.services.sso.redirects import is_acceptable_redirect
from bastion.services.uia import UiaAction

log = logging.getLogger(__name__)
_UNKNOWN_CONFIRMATION = N_("This confirmation is unknown or has expired. Try again from your app.")


def _redirect_url(request: Request) -> str:
    url = request.query_params.get("redirectUrl")
    if url is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, "redirectUrl is required")
    if not is_acceptable_redirect(url):
        raise MatrixError(400, Errcode.INVALID_PARAM, "redirectUrl is not a URL a client can open")
    return url


def _is_https(request: Request) -> bool:
    return services_of(request).info.public_baseurl.startswith("https:")


async def sso_redirect(request: Request) -> Response:
    """GET /_matrix/client/v3/login/sso/redirect"""
    sso = services_of(request).sso
    redirect_url = _redirect_url(request)
    providers = sso.providers
    if not providers:
        raise MatrixError(404, Errcode.NOT_FOUND, "single sign-on is not configured")
    if len(providers) == 1:
        return await _start(request, providers[0], redirect_url)
    query = urlencode({"redirectUrl": redirect_url}, quote_via=quote)
    choices = [
        {"name": p.config.name, "href": f"{request.url.path}/{quote(p.config.id)}?{query}"}
        for p in providers
    ]
    return page(request, "choose.html", providers=choices)


async def sso_redirect_idp(request: Request) -> Response:
    """GET /_matrix/client/v3/login/sso/redirect/{idpId}"""
    redirect_url = _redirect_url(request)
    idp_id = request.path_params["idpId"]
    provider = services_of(request).sso.provider(idp_id)
    if provider is None:
        raise MatrixError(404, Errcode.NOT_FOUND, f"unknown identity provider {idp_id!r}")
    return await _start(request, provider, redirect_url)


async def uia_fallback(request: Request) -> Response:
    """GET /_matrix/client/v3/auth/m.login.sso/fallback/web?session="""
    services = services_of(request)
    if not services.sso.enabled:
        return refusal(request, 404, N_("Single sign-on is not configured on this server."))
    session = request.query_params.get("session", "")
    action = await services.uia.session_action(session) if session else None
    if action is None:
        return refusal(request, 400, _UNKNOWN_CONFIRMATION)
    query = urlencode({"session": session}, quote_via=quote)
    choices = [
        {"name": p.config.name, "href": f"{REAUTH_PATH}/{quote(p.config.id)}?{query}"}
        for p in services.sso.providers
    ]
    return reauth_page(
        request, action or UiaAction.UNNAMED, providers=choices,
        server_name=services.info.server_name,
    )  # fmt: skip


async def uia_reauth(request: Request) -> Response:
    """GET /_bastion/sso/reauth/{idpId}?session=: the user chose to confirm with a provider."""
    services = services_of(request)
    provider = services.sso.provider(request.path_params["idpId"])
    session = request.query_params.get("session", "")
    if provider is None:
        return refusal(request, 404, N_("This sign-in provider is not configured."))
    if not session or await services.uia.session_action(session) is None:
        return refusal(request, 400, _UNKNOWN_CONFIRMATION)
    return await _start(request, provider, "", uia_session=session)


async def _start(
    request: Request, provider: OidcProvider, redirect_url: str, uia_session: str | None = None
) -> Response:
    try:
        started = await services_of(request).sso.start(
            provider, redirect_url, client_ip(request), uia_session
        )
    except IdpUnavailable as exc:
        log.warning("SSO provider %s unavailable: %s", provider.config.id, exc)
        message = N_("%(provider)s cannot be reached. Try again later.")
        return refusal(request, 502, message, provider=provider.config.name)
    response = RedirectResponse(started.location, status_code=302, headers=SECURITY_HEADERS)
    response.set_cookie(
        started.cookie_name,
        started.browser_secret,
        max_age=SESSION_LIFETIME_MS // 1000,
        path=services_of(request).sso.cookie_path,
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )
    return response


async def sso_callback(request: Request) -> Response:
    """GET /_bastion/sso/callback"""
    q = request.query_params
    callback = Callback(q.get("state"), q.get("code"), q.get("error"), q.get("error_description"))
    sso = services_of(request).sso
    cookie = sso.cookie_name(callback.state or "")
    response: Response
    try:
        finished = await sso.finish(callback, request.cookies.get(cookie), client_ip(request))
    except SsoRefused as exc:
        response = refusal(request, exc.status, exc.message, **exc.values)
    except MatrixError as exc:  # the login limit per address
        log.warning("SSO callback refused for %s: %s", client_ip(request), exc.message)
        message = N_("Too many sign-in attempts. Try again in a few minutes.")
        response = refusal(request, exc.status, message)
    else:
        if isinstance(finished, Reauthenticated):
            response = auth_done(request, finished.provider_name)
        elif finished.trusted:
            response = RedirectResponse(
                finished.redirect_url, status_code=302, headers=SECURITY_HEADERS
            )
        else:
            response = page(
                request,
                "confirm.html",
                site=finished.site,
                provider_name=finished.provider_name,
                redirect_url=finished.redirect_url,
            )
    response.delete_cookie(
        cookie,
        path=sso.cookie_path,
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )
    return response


REAUTH_PATH = "/_bastion/sso/reauth"
ROUTES = [  # under the client prefixes (api/routes.py)
    Route("/login/sso/redirect", sso_redirect, methods=["GET"]),
    Route("/login/sso/redirect/{idpId}", sso_redirect_idp, methods=["GET"]),
    Route("/auth/m.login.sso/fallback/web", uia_fallback, methods=["GET"]),
]
CALLBACK_ROUTES = [
    Route(CALLBACK_PATH, sso_callback, methods=["GET"]),
    Route(REAUTH_PATH + "/{idpId}", uia_reauth, methods=["GET"]),
]
