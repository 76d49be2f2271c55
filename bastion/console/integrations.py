"""Console page: the application services (bridges, bots, integrations) the configuration
registers, what each may act as, and whether its transactions are getting through.

`/integrations` is read-only: a service exists because an administrator listed its
registration file in the config (docs/subsystems/appservices.md), so adding or removing one is
a change of configuration, not a click. What stays true: the page calls only
`AppServices.statuses` (what `GET /_bastion/admin/v1/appservices` calls) as the signed-in
admin's console `Requester`, and shows no token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.console.pages import render, require_session, services_of


async def integrations(request: Request) -> Response:
    """GET /admin/integrations"""
    session = await require_session(request)
    statuses = await services_of(request).appservices.statuses(session.requester)
    return render(request, "integrations.html", services=statuses)


ROUTES = [Route("/integrations", integrations, methods=["GET"])]
