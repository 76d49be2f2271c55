"""User-Interactive Authentication (spec: client-server-api#user-interactive-authentication-api).

Every flow we offer has one stage, completed in the request that carries `auth`, so no stage
state is kept between requests: a session only names the exchange and expires after an hour.
A first request without `auth` (or a failed stage) gets the 401 body with `flows`, `params` and
`session`; a wrong password keeps the lockout and throttling of CredentialChecker.
"""

from __future__ import annotations

import secrets
from typing import Any

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.credentials import CredentialChecker, resolve_user_id
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import UiaSessionStore

PASSWORD_STAGE = "m.login.password"
SESSION_LIFETIME_MS = 3_600_000

AuthDict = dict[str, Any]


class UiaService:
    """Runs single-stage UIA exchanges."""

    def __init__(
        self,
        db: Database,
        sessions: UiaSessionStore,
        credentials: CredentialChecker,
        clock: Clock,
        server_name: str,
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._credentials = credentials
        self._clock = clock
        self._server_name = server_name

    async def challenge(
        self,
        stages: list[str],
        *,
        session: str | None = None,
        failure: MatrixError | None = None,
        params: dict[str, object] | None = None,
    ) -> MatrixError:
        """The 401 that tells the client which flows complete this request."""
        if session is None:
            session = secrets.token_urlsafe(18)
            now = self._clock.now_ms()
            async with self._db.transaction() as txn:
                await self._sessions.delete_sessions_before(txn, now - SESSION_LIFETIME_MS)
                await self._sessions.insert_session(txn, session, now)
        body: dict[str, object] = {
            "flows": [{"stages": [stage]} for stage in stages],
            "params": params or {},
            "session": session,
            "completed": [],
        }
        if failure is not None:
            return MatrixError(401, failure.errcode, failure.message, body)
        return MatrixError(401, Errcode.UNKNOWN, "Additional authentication is required", body)

    async def check_session(self, auth: AuthDict) -> str | None:
        """The session the client names, refusing one we did not issue or that expired."""
        session = auth.get("session")
        if session is None:
            return None
        if not isinstance(session, str):
            raise MatrixError(400, Errcode.BAD_JSON, "auth.session must be a string")
        cutoff = self._clock.now_ms() - SESSION_LIFETIME_MS
        if not await self._sessions.session_exists(self._db, session, cutoff):
            raise MatrixError(400, Errcode.UNKNOWN, f"unknown or expired UIA session {session!r}")
        return session

    async def require_password(self, requester: Requester, auth: AuthDict | None) -> None:
        """Re-authenticate `requester` with their password before a sensitive action."""
        if auth is None:
            raise await self.challenge([PASSWORD_STAGE])
        session = await self.check_session(auth)
        if auth.get("type") != PASSWORD_STAGE:
            raise await self.challenge([PASSWORD_STAGE], session=session)
        password = auth.get("password")
        if not isinstance(password, str):
            raise MatrixError(400, Errcode.BAD_JSON, "auth.password must be a string")
        identifier = auth.get("identifier")
        if identifier is not None and not isinstance(identifier, dict):
            raise MatrixError(400, Errcode.BAD_JSON, "auth.identifier must be an object")
        named = requester.user_id
        if identifier is not None or auth.get("user") is not None:
            named = resolve_user_id(identifier, auth.get("user"), self._server_name)
        if named != requester.user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "You may only authenticate as yourself")
        try:
            await self._credentials.check_password(requester.user_id, password)
        except MatrixError as exc:
            if exc.status != 403:
                raise
            raise await self.challenge([PASSWORD_STAGE], session=session, failure=exc) from exc
        if session is not None:
            await self._sessions.delete_session(self._db, session)
