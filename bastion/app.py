"""The composition root: the only place that builds stores, services and the ASGI app.

`Runtime.open` opens the database, applies pending migrations, and wires every collaborator by
constructor injection; `create_app` wraps a runtime in routes and the HTTP edge. Tests use both
directly (in-process over httpx); `bastion serve` uses `create_serving_app`, whose lifespan opens
and closes the runtime around uvicorn.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from bastion.api.context import ServerInfo, Services
from bastion.api.edge import HttpEdge
from bastion.api.errors import http_error, matrix_error, unexpected_error
from bastion.api.routes import build_routes
from bastion.clock import Clock, SystemClock
from bastion.config import Config
from bastion.errors import MatrixError
from bastion.server_key import load_key
from bastion.services.accounts import AccountService
from bastion.services.auth import AuthService
from bastion.services.credentials import CredentialChecker
from bastion.services.devices import DeviceService
from bastion.services.login import LoginService
from bastion.services.passwords import Passwords
from bastion.services.profile import ProfileService
from bastion.services.ratelimit import RateLimiter
from bastion.services.registration import RegistrationService
from bastion.services.uia import UiaService
from bastion.store.database import Database, open_database
from bastion.store.migrations.runner import migrate
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.profiles import SqlProfileStore
from bastion.store.sql.registration_tokens import SqlRegistrationTokenStore
from bastion.store.sql.uia_sessions import SqlUiaSessionStore
from bastion.store.sql.users import SqlUserStore

log = logging.getLogger("bastion")


@dataclass
class Runtime:
    """An open database and the services built on it."""

    config: Config
    db: Database
    services: Services

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Runtime:
        """Open the database, migrate it, and wire the services."""
        clock = clock or SystemClock()
        load_key(Path(config.signing_key_path))  # fail at start, not at the first signed event
        db = await open_database(
            config.database.url,
            schema=config.database.schema,
            pool_size=config.database.pool_size,
            sqlite_synchronous=config.database.sqlite_synchronous,
        )
        try:
            await migrate(db, clock.now_ms())
        except BaseException:
            await db.close()
            raise
        return cls(config, db, _build_services(config, db, clock))

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()


def _build_services(config: Config, db: Database, clock: Clock) -> Services:
    users, devices = SqlUserStore(), SqlDeviceStore()
    limits = config.rate_limits
    passwords = Passwords(config.auth)
    credentials = CredentialChecker(
        db,
        users,
        passwords,
        clock,
        config.auth,
        RateLimiter(clock, limits.failed_login_per_account),
    )
    auth = AuthService(
        db, devices, clock, config.auth.token_hmac_key, RateLimiter(clock, limits.requests_per_user)
    )
    uia = UiaService(db, SqlUiaSessionStore(), credentials, clock, config.server_name)
    accounts = AccountService(
        db,
        users,
        devices,
        SqlProfileStore(),
        passwords,
        clock,
        server_name=config.server_name,
        password_min_length=config.auth.password_min_length,
    )
    return Services(
        info=ServerInfo(
            server_name=config.server_name,
            public_baseurl=config.public_baseurl,
            require_auth_for_profile=config.http.require_auth_for_profile,
        ),
        auth=auth,
        login=LoginService(
            db, auth, credentials, RateLimiter(clock, limits.login_per_ip), config.server_name
        ),
        uia=uia,
        registration=RegistrationService(
            db,
            accounts,
            auth,
            uia,
            SqlRegistrationTokenStore(),
            clock,
            mode=config.registration.mode,
            ip_limiter=RateLimiter(clock, limits.register_per_ip),
        ),
        accounts=accounts,
        devices=DeviceService(db, devices, uia),
        profile=ProfileService(db, users, SqlProfileStore()),
    )


def _starlette(lifespan: object = None) -> Starlette:
    return Starlette(
        routes=build_routes(),
        exception_handlers={
            MatrixError: matrix_error,
            HTTPException: http_error,
            Exception: unexpected_error,
        },
        lifespan=lifespan,  # type: ignore[arg-type]  # None or a lifespan context factory
    )


def create_app(runtime: Runtime) -> ASGIApp:
    """The ASGI app serving an already-open runtime (tests and embedding)."""
    app = _starlette()
    app.state.services = runtime.services
    return HttpEdge(app, max_body_bytes=runtime.config.http.max_request_body_bytes)


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
        try:
            yield
        finally:
            await runtime.close()

    return HttpEdge(_starlette(lifespan), max_body_bytes=config.http.max_request_body_bytes)
