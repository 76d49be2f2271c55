"""Password login: `POST /login` turns credentials into a device and an access token."""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_device_id
from bastion.services.auth import AuthService, Session
from bastion.services.credentials import CredentialChecker, resolve_user_id
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
    ) -> None:
        self._db = db
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
        user = await self._credentials.check_password(user_id, request.password)
        async with self._db.transaction() as txn:
            return await self._auth.issue_session(
                txn, user.user_id, request.device_id, request.initial_device_display_name
            )
