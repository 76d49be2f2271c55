"""Login tokens a signed-in device asks for, to sign in a new one (spec:
client-server-api#post_matrixclientv1loginget_token; Element's "sign in with another device").

What stays true:
- Off unless `[login_via_existing_session] enabled`: the endpoint then answers 404 M_UNRECOGNIZED
  and the `m.get_login_token` capability is false, as on a server without the feature.
- Each token is a new session on the account, so the person re-authenticates for every one (the
  spec: servers "MUST always re-prompt"; our UIA never skips a recently passed session) unless
  an operator turned `require_ui_auth` off; and an account gets one a minute
  (`[rate_limits] login_token_per_user`). A throttled request is answered 429 before the
  password is asked for; only a request that gets as far as issuing counts.
- Only an account that could use the token gets one, checked before asking for the password
  and again right before the token is stored (the account may change meanwhile): not
  deactivated or locked (as at login: `CredentialChecker.check_account`), not suspended (the
  spec lets a suspended account sign in, which its password still does, but an investigation
  should not see it handing out sessions), and not an application service acting as one of its
  users (it has its own login, `m.login.application_service`).
- The token is the one kind of login token (services/sso/login_tokens.py): stored as an HMAC,
  single use, and its account checked again when `POST /login` takes it.
- Every issued token is audited (`login.token_issued`, by the device that asked, the account as
  target) in the transaction that stores it; a refusal after the re-authentication (throttled,
  account changed) is audited as failed, in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from bastion.config import LoginViaExistingSessionConfig
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.credentials import CredentialChecker
from bastion.services.principal import Requester
from bastion.services.ratelimit import RateLimiter
from bastion.services.sso.login_tokens import LoginTokens, issued_by_session
from bastion.services.suspensions import suspended
from bastion.services.uia import AuthDict, UiaAction, UiaService
from bastion.store.database import Database

TOKEN_LOGIN = "m.login.token"
TOKEN_ISSUED = "login.token_issued"  # the audit action

LoginFlow = dict[str, object]


class IssuedLoginToken(msgspec.Struct, frozen=True):
    """The 200 body of `POST /login/get_token`."""

    login_token: str
    expires_in_ms: int


@dataclass(frozen=True, slots=True)
class LoginTokenParts:
    """What issuing a token uses: the tokens, the re-authentication, the account check, the
    audit trail and the per-account limit."""

    db: Database
    tokens: LoginTokens
    uia: UiaService
    credentials: CredentialChecker
    audit: AuditTrail
    limiter: RateLimiter


class LoginTokenRequests:
    """`POST /login/get_token`, and how the server advertises it."""

    def __init__(
        self, parts: LoginTokenParts | None, settings: LoginViaExistingSessionConfig
    ) -> None:
        """`parts` None: the feature is off, whatever `settings.enabled` says."""
        self._parts = parts if settings.enabled else None
        self._settings = settings

    async def is_available_to(self, requester: Requester) -> bool:
        """The `m.get_login_token` capability, which the spec has per user: whether this
        requester would get a token (re-authentication and the rate limit aside)."""
        try:
            await self._require_eligible(requester)
        except MatrixError:
            return False
        return True

    def login_flows(self, flows: list[LoginFlow]) -> list[LoginFlow]:
        """`GET /login`'s flows, with `m.login.token` marked `get_login_token: true` (added if
        single sign-on did not list it) while the feature is on: how a client not yet signed in
        learns it may offer to be signed in by another device."""
        if self._parts is None:
            return flows
        marked = [
            {**flow, "get_login_token": True} if flow.get("type") == TOKEN_LOGIN else flow
            for flow in flows
        ]
        if not any(flow.get("type") == TOKEN_LOGIN for flow in flows):
            marked.append({"type": TOKEN_LOGIN, "get_login_token": True})
        return marked

    async def issue(self, requester: Requester, auth: AuthDict | None) -> IssuedLoginToken:
        """A single-use login token for a new device of the requester's account.

        Raises:
            MatrixError: 404 M_UNRECOGNIZED when the feature is off; 401 with the UIA flows
                until the person re-authenticated; 429 M_LIMIT_EXCEEDED; 400 M_FORBIDDEN for an
                application service; 403 M_USER_DEACTIVATED / M_USER_SUSPENDED, 401
                M_USER_LOCKED for an account that may not have one.
        """
        parts = await self._require_eligible(requester)
        if self._settings.require_ui_auth:
            await parts.uia.require_reauthentication(
                requester, auth, UiaAction.SIGN_IN_ANOTHER_DEVICE
            )
        lifetime_ms = self._settings.token_lifetime_seconds * 1000
        owner = issued_by_session(requester.user_id, requester.device_id)
        details = {
            "device_id": requester.device_id,  # the signed-in device that asked
            "expires_in_ms": lifetime_ms,
            "require_ui_auth": self._settings.require_ui_auth,
        }
        async with parts.audit.attempt(requester, TOKEN_ISSUED, requester.user_id):
            await self._require_eligible(requester)  # again: the account may have changed
            parts.limiter.consume(requester.user_id)  # no await since the check: no overtaking
            async with parts.db.transaction() as txn:
                token = await parts.tokens.issue(txn, owner, lifetime_ms)
                await parts.audit.record(txn, requester, TOKEN_ISSUED, requester.user_id, details)
        return IssuedLoginToken(token, lifetime_ms)

    async def _require_eligible(self, requester: Requester) -> LoginTokenParts:
        """Refuse a requester who may not have a token now; the per-account limit is checked
        last, after the awaits, so the caller may consume right after."""
        parts = self._parts
        if parts is None:
            raise MatrixError(
                404, Errcode.UNRECOGNIZED, "Signing in with an existing session is not enabled"
            )
        if requester.appservice is not None:
            raise MatrixError(
                400, Errcode.FORBIDDEN, "An application service cannot ask for login tokens"
            )
        user = await parts.credentials.check_account(requester.user_id)
        if user.suspended:
            raise suspended()
        parts.limiter.check(requester.user_id)
        return parts
