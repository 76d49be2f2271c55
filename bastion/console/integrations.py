"""Console page: the application services (bridges, bots, integrations) the configuration
registers, what each may act as, and whether its transactions are getting through; and the
identity providers of single sign-on, with how reading each one's discovery document last went
(where to look first when people cannot sign in).

`/integrations` is read-only: a service exists because an administrator listed its
registration file in the config (docs/subsystems/appservices.md), so adding or removing one is
a change of configuration, not a click. What stays true: the page calls only
`AppServices.statuses` (what `GET /_bastion/admin/v1/appservices` calls) and
`SsoService.statuses` as the signed-in admin's console `Requester`, and shows no token or
client secret.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.console.pages import render, require_session, services_of


async def integrations(request: Request) -> Response:
    """GET /admin/integrations"""
    session = await require_session(request)
    services = services_of(request)
    statuses = await services.appservices.statuses(session.requester)
    providers = services.sso.statuses(session.requester)
    return render(request, "integrations.html", services=statuses, providers=providers)


ROUTES = [Route("/integrations", integrations, methods=["GET"])]
