"""Wiring of self-registration (services/registration.py) and shared-secret registration
(services/shared_secret_registration.py), beside the composition root so wiring.py stays small.
They share the per-address limit on registrations."""

from __future__ import annotations

from bastion.app.redis_wiring import SharedState
from bastion.clock import Clock
from bastion.config import Config
from bastion.services.accounts import AccountService
from bastion.services.auth import AuthService
from bastion.services.registration import RegistrationService
from bastion.services.shared_secret_registration import (
    SharedSecretParts,
    SharedSecretRegistration,
)
from bastion.services.uia import UiaService
from bastion.store.database import Database
from bastion.store.sql.registration_nonces import SqlRegistrationNonceStore
from bastion.store.sql.registration_tokens import SqlRegistrationTokenStore


def registration_services(
    config: Config,
    shared: SharedState,
    db: Database,
    clock: Clock,
    parts: tuple[AccountService, AuthService, UiaService],
) -> tuple[RegistrationService, SharedSecretRegistration]:
    """`registration` and `shared_secret` of `Services`."""
    accounts, auth, uia = parts
    limiter = shared.limiter(clock, config.rate_limits.register_per_ip, "register")
    registration = RegistrationService(
        db, accounts, auth, uia, SqlRegistrationTokenStore(), clock,
        mode=config.registration.mode, ip_limiter=limiter,
    )  # fmt: skip
    secret_parts = SharedSecretParts(
        db, SqlRegistrationNonceStore(), accounts, auth, clock, limiter
    )
    return registration, SharedSecretRegistration(secret_parts, config.registration.shared_secret)
