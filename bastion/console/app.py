"""The console as an ASGI app, mounted by the serving app at /admin (`app/asgi.py`).

The console is its own small Starlette app (its exception handlers render pages, not Matrix
JSON; `SecurityHeaders` wraps every response), sharing the serving app's services:
`ServicesBridge` hands them over in the ASGI scope on every request.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.config import Config
from bastion.console.errors import EXCEPTION_HANDLERS, RefuseUnusableText
from bastion.console.headers import SecurityHeaders
from bastion.console.pages import SERVICES_SCOPE_KEY, ConsoleState
from bastion.console.routes import console_routes
from bastion.console.transport import TransportSecurity


class ServicesBridge:
    """Puts the serving app's `Services` into the scope, then calls the console app."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[SERVICES_SCOPE_KEY] = scope["app"].state.services
        await self._app(scope, receive, send)


def console_app(config: Config) -> ASGIApp:
    """The console app (to mount at `pages.ROOT`)."""
    app = Starlette(
        routes=console_routes(),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(SecurityHeaders), Middleware(RefuseUnusableText)],
    )
    app.state.console = ConsoleState()
    app.state.transport = TransportSecurity(config.listen.trusted_proxies)
    return ServicesBridge(app)
