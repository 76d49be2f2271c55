"""Wiring of login (services/login.py) and of the login tokens signed-in devices ask for
(services/login_token_request.py), beside the composition root so wiring.py stays small."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.app.redis_wiring import SharedState
from bastion.clock import Clock
from bastion.config import Config
from bastion.services.audit.trail import AuditTrail
from bastion.services.auth import AuthService
from bastion.services.credentials import CredentialChecker
from bastion.services.login import LoginService
from bastion.services.login_token_request import LoginTokenParts, LoginTokenRequests
from bastion.services.ratelimit import RateLimiter
from bastion.services.sso.login_tokens import LoginTokens
from bastion.services.uia import UiaService
from bastion.store.database import Database


@dataclass(frozen=True, slots=True)
class LoginParts:
    """What both services use, built earlier by the composition root."""

    db: Database
    clock: Clock
    auth: AuthService
    credentials: CredentialChecker
    ip_limiter: RateLimiter  # logins per client address (shared with the console's sign-in)
    audit: AuditTrail
    login_tokens: LoginTokens | None  # None: neither SSO nor get_token is configured
    uia: UiaService


def login_services(
    config: Config, shared: SharedState, parts: LoginParts
) -> tuple[LoginService, LoginTokenRequests]:
    """`POST /login`, and `POST /login/get_token` (refusing everything while it is off)."""
    login = LoginService(
        parts.db, parts.auth, parts.credentials, parts.ip_limiter, config.server_name,
        parts.audit, login_tokens=parts.login_tokens,
    )  # fmt: skip
    settings, tokens = config.login_via_existing_session, parts.login_tokens
    if not settings.enabled or tokens is None:  # off (app/sso.py makes tokens when it is on)
        return login, LoginTokenRequests(None, settings)
    limit = config.rate_limits.login_token_per_user
    requests = LoginTokenParts(
        parts.db, tokens, parts.uia, parts.credentials, parts.audit,
        shared.limiter(parts.clock, limit, "login_token"),
    )  # fmt: skip
    return login, LoginTokenRequests(requests, settings)
