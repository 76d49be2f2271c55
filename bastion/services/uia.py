"""User-Interactive Authentication (spec: client-server-api#user-interactive-authentication-api).

Every flow we offer has one stage. The password stage is completed in the request that carries
`auth`; a session only names the exchange, says in words what it guards (its `action`), and
expires after an hour. A first request without `auth` (or a failed stage) gets the 401 body
with `flows`, `params` and `session`; a wrong password keeps the lockout and throttling of
CredentialChecker. With single sign-on configured, re-authentication also offers `m.login.sso`
(spec: client-server-api#sso-during-user-interactive-authentication): the client opens the
fallback page (api/sso/), the user confirms the action and signs in with their provider
(services/sso/), and the request retried with `auth: {session}` passes when that sign-in was
the requester's own account, once.
"""

from __future__ import annotations

import secrets
from typing import Any, Final, Protocol

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.credentials import CredentialChecker, resolve_user_id
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import UiaSessionStore

PASSWORD_STAGE = "m.login.password"
SSO_STAGE = "m.login.sso"
SESSION_LIFETIME_MS = 3_600_000

AuthDict = dict[str, Any]


class UiaAction:
    """What a re-authentication guards, in words: the SSO fallback page shows it to the person
    asked to confirm, in their language (these are msgids of api/sso/translations)."""

    REMOVE_DEVICES: Final = N_("sign out and remove sessions (devices) of your account")
    REPLACE_CROSS_SIGNING: Final = N_(
        "replace your cross-signing keys (reset your encryption identity)"
    )
    CHANGE_PASSWORD: Final = N_("change your password")
    CLOSE_ACCOUNT: Final = N_("close your account")
    SIGN_IN_ANOTHER_DEVICE: Final = N_("let another device sign in to your account")
    UNNAMED: Final = N_("change your account's security")


class SsoReauthentication(Protocol):
    """Re-authentication through the identity provider (services/sso/flow.py)."""

    @property
    def enabled(self) -> bool: ...
    async def reauthenticated(self, session: str, user_id: str) -> bool:
        """Whether `user_id` confirmed `session` by signing in (used up by asking)."""
        ...


class UiaService:
    """Runs single-stage UIA exchanges."""

    def __init__(
        self,
        db: Database,
        sessions: UiaSessionStore,
        credentials: CredentialChecker,
        clock: Clock,
        server_name: str,
        sso: SsoReauthentication | None = None,
    ) -> None:
        self._db = db
        self._sso = sso
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
        action: str = "",
    ) -> MatrixError:
        """The 401 that tells the client which flows complete this request; `action` names
        what a new session guards, in words."""
        if session is None:
            session = secrets.token_urlsafe(18)
            now = self._clock.now_ms()
            async with self._db.transaction() as txn:
                await self._sessions.delete_sessions_before(txn, now - SESSION_LIFETIME_MS)
                await self._sessions.insert_session(txn, session, now, action)
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

    async def session_action(self, session: str) -> str | None:
        """What a live session guards, in words; None when unknown or expired."""
        cutoff = self._clock.now_ms() - SESSION_LIFETIME_MS
        return await self._sessions.session_action(self._db, session, cutoff)

    async def require_reauthentication(
        self, requester: Requester, auth: AuthDict | None, action: str
    ) -> None:
        """Re-authenticate `requester` (their password, or their identity provider) before the
        sensitive `action` (in words, for the SSO page: "remove sessions from your account")."""
        stages = [PASSWORD_STAGE]
        if self._sso is not None and self._sso.enabled:
            stages.append(SSO_STAGE)
        if auth is None:
            raise await self.challenge(stages, action=action)
        session = await self.check_session(auth)
        if await self._confirmed_by_sso(requester, auth, session):
            return
        if auth.get("type") != PASSWORD_STAGE:
            raise await self.challenge(stages, session=session)
        await self._check_password_stage(requester, auth, stages, session)
        if session is not None:
            await self._sessions.delete_session(self._db, session)

    async def _check_password_stage(
        self, requester: Requester, auth: AuthDict, stages: list[str], session: str | None
    ) -> None:
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
            raise await self.challenge(stages, session=session, failure=exc) from exc

    async def _confirmed_by_sso(
        self, requester: Requester, auth: AuthDict, session: str | None
    ) -> bool:
        """The retried request of the SSO stage (`auth: {session}`): passes, once, when the
        requester's own account signed in for this session; the session is then done."""
        if session is None or self._sso is None or auth.get("type") not in (None, SSO_STAGE):
            return False
        if not await self._sso.reauthenticated(session, requester.user_id):
            return False
        await self._sessions.delete_session(self._db, session)
        return True
