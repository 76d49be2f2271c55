"""Single sign-on sessions and login tokens (services/sso/). See `bastion.store.protocols`."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class SsoSessionRow(msgspec.Struct, frozen=True):
    """A sign-in started at /login/sso/redirect, waiting for the IdP's callback."""

    state_hash: str
    browser_hash: str
    idp_id: str
    redirect_url: str  # the client's; "" when confirming a UIA session
    created_ts: int
    uia_session: str | None = None  # the UIA session this sign-in confirms, if it does


class LoginTokenOwner(msgspec.Struct, frozen=True):
    """Whose a consumed login token was, and through which provider it was earned."""

    user_id: str
    idp_id: str  # or "session:<device ID>": asked for by that device (services/sso/login_tokens)


class SsoStore(Protocol):
    """Rows of `sso_sessions` and `sso_login_tokens` (migration 0035), by HMAC, and the
    accounts' linked IdP subjects (`sso_identities`)."""

    async def insert_session(self, q: Queryable, row: SsoSessionRow) -> None: ...
    async def take_session(self, q: Queryable, state_hash: str) -> SsoSessionRow | None:
        """Delete the session and return it: only one caller ever gets a row."""
        ...

    async def delete_sessions_before(self, q: Queryable, created_before_ts: int) -> int: ...
    async def insert_login_token(
        self, q: Queryable, token_hash: str, owner: LoginTokenOwner, expires_ts: int
    ) -> None: ...
    async def take_login_token(
        self, q: Queryable, token_hash: str, now_ms: int
    ) -> LoginTokenOwner | None:
        """Delete the token and return its owner unless it had expired: single use."""
        ...

    async def delete_expired_login_tokens(self, q: Queryable, now_ms: int) -> int: ...
    async def account_of_subject(self, q: Queryable, idp_id: str, subject: str) -> str | None: ...
    async def subject_of_account(self, q: Queryable, idp_id: str, user_id: str) -> str | None: ...
    async def link_subject(
        self, q: Queryable, idp_id: str, subject: str, user_id: str, now_ms: int
    ) -> None:
        """Raises UniqueViolation when the subject or the account is linked already."""
        ...

    async def record_reauth(
        self, q: Queryable, uia_session: str, user_id: str, now_ms: int
    ) -> None: ...
    async def take_reauth(self, q: Queryable, uia_session: str) -> str | None:
        """Delete the confirmation of the UIA session and return whose it was: used once."""
        ...


class ExternalIdStore(Protocol):
    """An account's links to identity-provider subjects (`sso_identities`), as the Synapse admin
    API shows and sets them (`external_ids`)."""

    async def subjects_of_user(self, q: Queryable, user_id: str) -> list[tuple[str, str]]:
        """(provider, subject) of every link of the account, by provider."""
        ...

    async def replace_subjects(
        self, q: Queryable, user_id: str, links: list[tuple[str, str]], now_ms: int
    ) -> None:
        """The account's links become `links`; UniqueViolation when a subject is another's."""
        ...

    async def account_of_subject(self, q: Queryable, idp_id: str, subject: str) -> str | None: ...
