"""The ASGI apps: routes and the HTTP edge around a runtime.

`create_app` serves an already-open runtime (tests, embedding); `create_serving_app` is what
`bastion serve` runs: its lifespan opens the runtime, starts its background workers (presence
expiry, push delivery: `Runtime.workers()`), and on shutdown stops them in reverse order before
closing the runtime.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Mount
from starlette.types import ASGIApp

from bastion.api.client_address import ClientAddressResolver
from bastion.api.edge import HttpEdge
from bastion.api.errors import client_gone, http_error, matrix_error, unexpected_error
from bastion.api.health import ROUTES as HEALTH_ROUTES
from bastion.api.media import upload_body_limits
from bastion.api.route_index import IndexedRouter
from bastion.api.routes import build_routes
from bastion.app.health import RuntimeReadiness
from bastion.app.metrics import GaugeSampler, ProcessMetrics
from bastion.app.runtime import Runtime
from bastion.config import Config
from bastion.console.app import console_app
from bastion.console.pages import ROOT as CONSOLE_ROOT
from bastion.errors import MatrixError

log = logging.getLogger("bastion")


def _starlette(config: Config, lifespan: object = None) -> Starlette:
    app = Starlette(
        # The admin console first: its own pages, error pages and security headers (console/).
        routes=[
            Mount(CONSOLE_ROOT, app=console_app(config)),
            *HEALTH_ROUTES,  # /health, /ready: unauthenticated (api/health.py)
            *build_routes(),
        ],
        exception_handlers={
            MatrixError: matrix_error,
            HTTPException: http_error,
            ClientDisconnect: client_gone,
            Exception: unexpected_error,
        },
        lifespan=lifespan,  # type: ignore[arg-type]  # None or a lifespan context factory
    )
    # The same routes, matched through an index of their literal prefixes (api/route_index.py).
    app.router = IndexedRouter(app.router.routes, lifespan=lifespan)
    return app


def _edge(app: ASGIApp, config: Config) -> ASGIApp:
    """The HTTP edge around `app` (api/edge.py: request ID, client address behind trusted
    proxies, access log, metrics, CORS, body limits): media uploads get the media size limit,
    the rest the JSON one."""
    return HttpEdge(
        app,
        max_body_bytes=config.http.max_request_body_bytes,
        body_limits=upload_body_limits(config.media.max_upload_bytes),
        resolver=ClientAddressResolver(config.listen.trusted_proxies),
        access_log=config.logging.access_log,
        pages=(CONSOLE_ROOT,),  # the console refuses unusable text with a page
    )


def create_app(runtime: Runtime) -> ASGIApp:
    """The ASGI app serving an already-open runtime (tests and embedding)."""
    app = _starlette(runtime.config)
    app.state.services = runtime.services
    app.state.readiness = RuntimeReadiness(runtime.db, runtime.shared.redis)
    return _edge(app, runtime.config)


def _cli_name() -> str:
    """How to call the `bastion` command that is running now (it may not be on PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "bastion" and shutil.which("bastion") != str(argv0.resolve()):
        return str(argv0)
    return "bastion"


def create_serving_app(config: Config, config_path: Path) -> ASGIApp:
    """The ASGI app for `bastion serve`: its lifespan opens and closes the runtime."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await Runtime.open(config)
        app.state.services = runtime.services
        app.state.readiness = RuntimeReadiness(runtime.db, runtime.shared.redis)
        host, port = config.listen.host, config.listen.port
        log.info(
            "Bastion serving %s on http://%s:%d (database: %s)",
            config.server_name,
            host,
            port,
            runtime.db.dialect,
        )
        if not await runtime.services.accounts.has_active_admin():
            log.warning(
                "No admin account exists yet. Create the first one with:\n"
                "    %s user create NAME --admin --config %s",
                _cli_name(),
                config_path,
            )
        workers = runtime.workers()
        workers.start()
        sampler = GaugeSampler(runtime.db, runtime.wakeups, runtime.shared.redis_state)
        process_metrics = ProcessMetrics(config, sampler, runtime.clock)
        process_metrics.start()
        try:
            yield
        finally:
            await process_metrics.stop()
            await workers.stop()
            await runtime.close()

    return _edge(_starlette(config, lifespan), config)
