"""Login: `POST /login` turns a password, or a login token (`m.login.token`) from single sign-on
(services/sso/) or from a signed-in device (`POST /login/get_token`), into a device and an
access token.

Every attempt that reaches the password or token check is audited: a success in the
transaction that issues the token (`login.success`, by the new device; for a token login
`method` names the provider, `sso:<idp id>`, or is `m.login.token` with the device that asked
for the token), a failure on its own (`login.failure`, by the client's address, with the
reason), so an auditor sees guessing and lockouts. Both kinds count against the login limit
per address.
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
from bastion.services.sso.login_tokens import LoginTokens, login_details
from bastion.store.database import Database
from bastion.store.protocols.sso import LoginTokenOwner
from bastion.store.records import UserRecord

PASSWORD_LOGIN = "m.login.password"
TOKEN_LOGIN = "m.login.token"


class LoginRequest(msgspec.Struct, frozen=True):
    """Body of `POST /login` (spec: client-server-api#post_matrixclientv3login)."""

    type: str
    identifier: dict[str, Any] | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None  # m.login.token
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
        *,
        login_tokens: LoginTokens | None = None,  # None: no SSO nor get_token: no m.login.token
    ) -> None:
        self._db = db
        self._login_tokens = login_tokens
        self._audit = audit
        self._auth = auth
        self._credentials = credentials
        self._ip_limiter = ip_limiter
        self._server_name = server_name

    @staticmethod
    def flows() -> list[dict[str, object]]:
        """Login types we accept."""
        return [{"type": PASSWORD_LOGIN}]

    async def login(self, request: LoginRequest, ip: str) -> Session:
        """Log in with a password or a login token; see CredentialChecker for the refusals."""
        token_login = request.type == TOKEN_LOGIN and self._login_tokens is not None
        if request.type != PASSWORD_LOGIN and not token_login:
            raise MatrixError(400, Errcode.UNKNOWN, f"unsupported login type {request.type!r}")
        if (request.token if token_login else request.password) is None:
            raise MatrixError(400, Errcode.BAD_JSON, f"{request.type} needs its credential")
        if request.device_id is not None and not is_valid_device_id(request.device_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
        self._ip_limiter.hit(ip)
        if token_login:
            user, details = await self._token_user(request.token or "", ip)
        else:
            user, details = await self._password_user(request, ip), {"ip": ip}
        async with self._db.transaction() as txn:
            session = await self._auth.issue_session(
                txn, user.user_id, request.device_id, request.initial_device_display_name
            )
            device = Requester(user.user_id, session.device_id, user.is_admin)
            await self._audit.record(txn, device, "login.success", user.user_id, details)
        if request.device_id is not None:
            # A known device's earlier token was just revoked (issue_session): its parked
            # syncs, on every process, must end now, as after a logout.
            await self._auth.tokens_replaced(user.user_id)
        return session

    async def _password_user(self, request: LoginRequest, ip: str) -> UserRecord:
        user_id = resolve_user_id(request.identifier, request.user, self._server_name)
        try:
            return await self._credentials.check_password(user_id, request.password or "")
        except MatrixError as exc:
            await self._audit_failure(ip, user_id, exc)
            raise

    async def _token_user(self, token: str, ip: str) -> tuple[UserRecord, dict[str, Any]]:
        """The account of a live login token, which is used up (spec: 403 M_FORBIDDEN for a
        token that is not valid)."""
        assert self._login_tokens is not None
        owner: LoginTokenOwner | None = None
        try:
            owner = await self._login_tokens.redeem(token)
            user = await self._credentials.check_account(owner.user_id)
        except MatrixError as exc:
            await self._audit_failure(ip, None if owner is None else owner.user_id, exc)
            raise
        return user, {"ip": ip, **login_details(owner)}

    async def _audit_failure(self, ip: str, user_id: str | None, exc: MatrixError) -> None:
        reason = {"ip": ip, "errcode": exc.errcode, "error": exc.message}
        await self._audit.record_alone(
            Unauthenticated(ip), "login.failure", user_id, reason, outcome=FAILURE
        )
