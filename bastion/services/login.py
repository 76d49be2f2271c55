"""Password login: `POST /login` turns credentials into a device and an access token.

Every attempt that reaches the password check is audited: a success in the transaction that
issues the token (`login.success`, by the new device), a failure on its own (`login.failure`, by
the client's address, with the reason), so an auditor sees guessing and lockouts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_device_id
from bastion.services.audit.trail import FAILURE, AuditTrail
from bastion.services.auth import AuthService, Session
from bastion.services.credentials import CredentialChecker, resolve_user_id
from bastion.services.principal import Requester, Unauthenticated
from bastion.services.ratelimit import RateLimiter
from bastion.store.database import Database

PASSWORD_LOGIN = "m.login.password"


class LoginRequest(msgspec.Struct, frozen=True):
    """Body of `POST /login` (spec: client-server-api#post_matrixclientv3login)."""

    type: str
    identifier: dict[str, Any] | None = None
    user: str | None = None
    password: str | None = None
    device_id: str | None = None
    initial_device_display_name: str | None = None
    refresh_token: bool = False


class LoginService:
    """Checks credentials with throttling and issues sessions."""

    def __init__(
        self,
        db: Database,
        auth: AuthService,
        credentials: CredentialChecker,
        ip_limiter: RateLimiter,
        server_name: str,
        audit: AuditTrail,
    ) -> None:
        self._db = db
        self._audit = audit
        self._auth = auth
        self._credentials = credentials
        self._ip_limiter = ip_limiter
        self._server_name = server_name

    @staticmethod
    def flows() -> list[dict[str, str]]:
        """Login types we accept."""
        return [{"type": PASSWORD_LOGIN}]

    async def login(self, request: LoginRequest, ip: str) -> Session:
        """Log in with a password; see CredentialChecker for the refusals."""
        if request.type != PASSWORD_LOGIN:
            raise MatrixError(400, Errcode.UNKNOWN, f"unsupported login type {request.type!r}")
        if request.password is None:
            raise MatrixError(400, Errcode.BAD_JSON, "password is required")
        if request.device_id is not None and not is_valid_device_id(request.device_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
        self._ip_limiter.hit(ip)
        user_id = resolve_user_id(request.identifier, request.user, self._server_name)
        try:
            user = await self._credentials.check_password(user_id, request.password)
        except MatrixError as exc:
            reason = {"ip": ip, "errcode": exc.errcode, "error": exc.message}
            await self._audit.record_alone(
                Unauthenticated(ip), "login.failure", user_id, reason, outcome=FAILURE
            )
            raise
        async with self._db.transaction() as txn:
            session = await self._auth.issue_session(
                txn, user.user_id, request.device_id, request.initial_device_display_name
            )
            device = Requester(user.user_id, session.device_id, user.is_admin)
            await self._audit.record(txn, device, "login.success", user.user_id, {"ip": ip})
        if request.device_id is not None:
            # A known device's earlier token was just revoked (issue_session): its parked
            # syncs, on every process, must end now, as after a logout.
            await self._auth.tokens_replaced(user.user_id)
        return session
