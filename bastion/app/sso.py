"""Wiring of single sign-on (services/sso/), beside the composition root so wiring.py grows by
a line: the flow for `Services.sso`, and the login tokens `LoginService` exchanges (which
`POST /login/get_token` also issues, app/login.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bastion.clock import Clock
from bastion.config import Config, client_base_url
from bastion.console.sso_signin import DONE_PATH as CONSOLE_SSO_DONE
from bastion.services.accounts import AccountService
from bastion.services.ratelimit import RateLimiter
from bastion.services.sso.flow import CALLBACK_PATH, SsoParts, SsoService, SsoSettings
from bastion.services.sso.login_tokens import LoginTokens
from bastion.services.sso.provider import OidcProvider
from bastion.services.sso.provisioning import SsoAccountProvisioning
from bastion.store.database import Database
from bastion.store.sql.sso import SqlSsoStore
from bastion.store.sql.users import SqlUserStore


def sso_service(
    config: Config,
    db: Database,
    clock: Clock,
    hash_token: Callable[[str], str],
    ip_limiter: RateLimiter,
    *,
    accounts: AccountService,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[SsoService, LoginTokens | None]:
    """The SSO flow, and the login tokens when a provider is configured or signed-in devices
    may ask for them (`[login_via_existing_session]`); else None: `POST /login` then knows no
    `m.login.token`."""
    store = SqlSsoStore()
    tokens = LoginTokens(db, store, clock, hash_token)
    timeout = config.sso.request_timeout_seconds
    providers = [OidcProvider(p, timeout, clock, transport) for p in config.sso.providers]
    settings = SsoSettings(
        server_name=config.server_name,
        callback_url=client_base_url(config).rstrip("/") + CALLBACK_PATH,
        # The admin console is a client of the flow too (console/sso_signin.py), and our own.
        client_redirects=(
            *config.sso.client_redirects,
            client_base_url(config).rstrip("/") + CONSOLE_SSO_DONE,
        ),
    )
    provisioning = SsoAccountProvisioning(db, accounts)
    parts = SsoParts(db, store, SqlUserStore(), clock, hash_token, ip_limiter, tokens, provisioning)
    issued = bool(providers) or config.login_via_existing_session.enabled
    return SsoService(parts, settings, providers), (tokens if issued else None)
