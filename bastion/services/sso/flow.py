"""A sign-in through an OpenID Connect provider: started at /login/sso/redirect, finished at
the IdP's callback with a login token (spec: client-server-api#client-login-via-sso).

`start` stores a session (sso_sessions, migration 0035, so any process can take the callback)
and gives the browser a random secret for a cookie. The nonce and the PKCE verifier are derived
from that secret, so the row holds only HMACs and the client's redirectUrl: a leaked row can
neither redeem the IdP's code nor satisfy the nonce. `finish` takes the session (deleted
whatever follows: single use), refuses it when older than ten minutes or when the browser's
cookie is not the one it was started with (the spec's "guard against unsolicited authentication
attempts"), exchanges the code, checks the ID token (id_token.py) and maps its localpart claim
to an EXISTING account, as SCIM maps userName (accounts are made by admins or SCIM; nobody is
provisioned here). The first sign-in links the account to the token's subject (`sub`,
sso_identities): later ones find it by the subject (an IdP's rename of the user still reaches
it), and another subject whose claim names a linked account is refused (a recycled or edited
username cannot take the account over). A deactivated or admin-locked account is refused; a
suspended one may sign in, as with a password (the spec lists logging in among what a suspended
user may do).
Every refusal is an `SsoRefused` for the pages (api/sso/) and one log line; only the login that
follows is audited (services/login.py), as logins are.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol
from urllib.parse import urlsplit

from bastion.clock import Clock
from bastion.config_sso import SsoProvider
from bastion.events.canonical import unpadded_base64
from bastion.i18n.languages import N_
from bastion.ids import is_valid_user_id
from bastion.services.principal import Principal
from bastion.services.ratelimit import RateLimiter
from bastion.services.scim.resources import localpart_for_user_name
from bastion.services.sso.id_token import InvalidIdToken, verify_id_token
from bastion.services.sso.login_tokens import LoginTokens
from bastion.services.sso.provider import IdpUnavailable, OidcProvider, ProviderHealth
from bastion.services.sso.redirects import is_trusted, site_of, with_login_token
from bastion.store.database import Database, UniqueViolation
from bastion.store.protocols import UserStore
from bastion.store.protocols.sso import LoginTokenOwner, SsoSessionRow, SsoStore
from bastion.store.records import UserRecord

log = logging.getLogger(__name__)
SESSION_LIFETIME_MS = 10 * 60 * 1000
COOKIE_PREFIX = "bastion_sso_"
CALLBACK_PATH = "/_bastion/sso/callback"


class SsoRefused(Exception):
    """A sign-in cannot go on; `message` is for the user, the log has the details.

    `message` is an English msgid with `%(name)s` placeholders filled from `values` (names the
    IdP or its words, never translated): the page translates it into the browser's language.
    """

    def __init__(self, status: int, message: str, values: Mapping[str, str]) -> None:
        super().__init__(message % values)
        self.status = status
        self.message = message
        self.values = dict(values)


class AccountProvisioning(Protocol):
    """Creates the account of a first sign-in (services/sso/provisioning.py)."""

    async def provision(self, idp_id: str, user_id: str, displayname: str | None) -> bool: ...


@dataclass(frozen=True, slots=True)
class SsoParts:
    """What the flow is built from (app/sso.py)."""

    db: Database
    store: SsoStore
    users: UserStore
    clock: Clock
    hash_token: Callable[[str], str]
    ip_limiter: RateLimiter  # the login limit per address: callbacks count as login attempts
    tokens: LoginTokens
    provisioning: AccountProvisioning | None = None  # for providers with create_accounts


@dataclass(frozen=True, slots=True)
class SsoSettings:
    server_name: str
    callback_url: str  # PUBLIC_BASEURL/_bastion/sso/callback, registered at the IdP
    client_redirects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """A configured identity provider as an admin sees it."""

    id: str
    name: str
    issuer: str
    create_accounts: bool
    health: ProviderHealth


@dataclass(frozen=True, slots=True)
class Started:
    """Where to send the browser, and the secret its cookie (named by `cookie_name`) must
    carry to the callback."""

    location: str
    browser_secret: str
    cookie_name: str


@dataclass(frozen=True, slots=True)
class Callback:
    """The query of the IdP's redirect to the callback (RFC 6749 4.1.2 and 4.1.2.1)."""

    state: str | None
    code: str | None
    error: str | None = None
    error_description: str | None = None


@dataclass(frozen=True, slots=True)
class Reauthenticated:
    """A user confirmed a UIA session by signing in: the fallback's completion page follows."""

    provider_name: str


@dataclass(frozen=True, slots=True)
class Finished:
    """A signed-in user's way back: straight to a trusted client, else a confirmation page."""

    redirect_url: str  # the client's redirectUrl with loginToken added
    trusted: bool
    site: str  # what the confirmation page names
    provider_name: str


def _derive(secret: str, label: bytes) -> str:
    digest = hmac.new(secret.encode(), label, hashlib.sha256).digest()
    return unpadded_base64(digest, urlsafe=True)


def _challenge(verifier: str) -> str:
    """RFC 7636 4.2's S256: BASE64URL(SHA256(verifier)), unpadded."""
    return unpadded_base64(hashlib.sha256(verifier.encode()).digest(), urlsafe=True)


class SsoService:
    """Starts and finishes sign-ins with the configured providers."""

    def __init__(
        self, parts: SsoParts, settings: SsoSettings, providers: Sequence[OidcProvider]
    ) -> None:
        self._parts = parts
        self._settings = settings
        self._providers = {provider.config.id: provider for provider in providers}

    @property
    def providers(self) -> list[OidcProvider]:
        return list(self._providers.values())

    @property
    def enabled(self) -> bool:
        """Is any provider configured (else SSO is off: no flow, no UIA stage)?"""
        return bool(self._providers)

    def flows(self) -> list[dict[str, object]]:
        """The `GET /login` flows SSO adds (spec: definitions/sso_login_flow); none when off."""
        if not self._providers:
            return []
        idps = [_identity_provider(p.config) for p in self._providers.values()]
        return [{"type": "m.login.sso", "identity_providers": idps}, {"type": "m.login.token"}]

    def provider(self, idp_id: str) -> OidcProvider | None:
        return self._providers.get(idp_id)

    def statuses(self, actor: Principal) -> list[ProviderStatus]:
        """Each configured provider and how reading its discovery document last went (the
        admin console's integrations page); admins only."""
        actor.require_admin()
        return [
            ProviderStatus(p.config.id, p.config.name, p.issuer, p.config.create_accounts, p.health)
            for p in self._providers.values()
        ]

    @property
    def cookie_path(self) -> str:
        """The callback's path as the browser sees it (public_baseurl may have a prefix)."""
        return urlsplit(self._settings.callback_url).path

    async def close(self) -> None:
        """Close the providers' HTTP clients (at shutdown)."""
        for provider in self._providers.values():
            await provider.close()

    async def start(
        self, provider: OidcProvider, redirect_url: str, ip: str, uia_session: str | None = None
    ) -> Started:
        """Store a session and build the IdP's authorization URL (`IdpUnavailable` if its
        discovery document cannot be read). Counts against the login limit per address, as
        each start writes a row. With `uia_session`, the sign-in confirms that UIA session
        instead of logging in (`redirect_url` is then "")."""
        self._parts.ip_limiter.hit(ip)
        secret, state = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        location = await provider.authorization_url(
            {
                "response_type": "code",
                "client_id": provider.config.client_id,
                "redirect_uri": self._settings.callback_url,
                "scope": " ".join(provider.config.scopes),
                "state": state,
                "nonce": _derive(secret, b"nonce"),
                "code_challenge": _challenge(_derive(secret, b"pkce")),
                "code_challenge_method": "S256",
            }
        )
        parts, now = self._parts, self._parts.clock.now_ms()
        row = SsoSessionRow(
            parts.hash_token(state), parts.hash_token(secret), provider.config.id, redirect_url,
            now, uia_session,
        )  # fmt: skip
        async with parts.db.transaction() as txn:
            await parts.store.delete_sessions_before(txn, now - SESSION_LIFETIME_MS)
            await parts.store.insert_session(txn, row)
        return Started(location, secret, self.cookie_name(state))

    def cookie_name(self, state: str) -> str:
        """The browser cookie of the sign-in whose `state` this is: one cookie per sign-in, so
        sign-ins started side by side in one browser (Element in one tab, the admin console in
        another) do not overwrite each other's. Named by a keyed hash of the state (not the
        hash the database keys the session by), so it names nothing an onlooker could use."""
        return COOKIE_PREFIX + self._parts.hash_token("cookie:" + state)[:16]

    async def finish(
        self, callback: Callback, browser_secret: str | None, ip: str
    ) -> Finished | Reauthenticated:
        """Check the callback and issue a login token (or, for a UIA session, record that its
        user confirmed it); `SsoRefused` otherwise."""
        self._parts.ip_limiter.hit(ip)
        session = await self._take_session(callback.state)
        provider = self._check_session(session, browser_secret)
        assert browser_secret is not None  # _check_session refused a missing cookie
        if callback.error is not None:
            said = callback.error[:100]
            if callback.error_description:
                said += f": {callback.error_description[:300]}"
            _refuse(
                403,
                N_("%(provider)s did not sign you in (%(said)s)."),
                f"IdP {provider.config.id} answered error {callback.error[:100]!r}",
                provider=provider.config.name,
                said=said,
            )
        if not callback.code:
            _refuse(400, N_("The sign-in answer has no code."), "callback without code")
        try:
            id_token = await provider.exchange_code(
                callback.code, self._settings.callback_url, _derive(browser_secret, b"pkce")
            )
            claims = await verify_id_token(
                provider, id_token,
                nonce=_derive(browser_secret, b"nonce"), now_ms=self._parts.clock.now_ms(),
            )  # fmt: skip
        except IdpUnavailable as exc:
            _refuse(
                502,
                N_("%(provider)s could not be reached."),
                str(exc),
                provider=provider.config.name,
            )
        except InvalidIdToken as exc:
            _refuse(
                403,
                N_("The answer of %(provider)s could not be verified."),
                str(exc),
                provider=provider.config.name,
            )
        user_id = await self._account_for(provider, claims)
        if session.uia_session is not None:
            async with self._parts.db.transaction() as txn:
                now = self._parts.clock.now_ms()
                await self._parts.store.record_reauth(txn, session.uia_session, user_id, now)
            return Reauthenticated(provider.config.name)
        async with self._parts.db.transaction() as txn:
            token = await self._parts.tokens.issue(
                txn, LoginTokenOwner(user_id, provider.config.id)
            )
        url = with_login_token(session.redirect_url, token)
        trusted = is_trusted(session.redirect_url, self._settings.client_redirects)
        return Finished(url, trusted, site_of(session.redirect_url), provider.config.name)

    async def reauthenticated(self, session: str, user_id: str) -> bool:
        """Whether `user_id` confirmed the UIA `session` by signing in: the confirmation is
        used up by asking (services/uia.py), and one by another account confirms nothing."""
        async with self._parts.db.transaction() as txn:
            confirmed_by = await self._parts.store.take_reauth(txn, session)
        return confirmed_by is not None and confirmed_by == user_id

    async def _take_session(self, state: str | None) -> SsoSessionRow:
        if not state:
            _refuse(400, N_("The sign-in answer has no state."), "callback without state")
        async with self._parts.db.transaction() as txn:
            session = await self._parts.store.take_session(txn, self._parts.hash_token(state))
        if session is None:
            _refuse(
                400,
                N_("This sign-in is unknown or was already used. Start again from your app."),
                "callback for an unknown or used state",
            )
        return session

    def _check_session(self, session: SsoSessionRow, browser_secret: str | None) -> OidcProvider:
        if self._parts.clock.now_ms() - session.created_ts > SESSION_LIFETIME_MS:
            _refuse(400, N_("This sign-in took too long. Start again from your app."), "expired")
        expected = session.browser_hash.encode()
        presented = self._parts.hash_token(browser_secret or "").encode()
        if not browser_secret or not hmac.compare_digest(expected, presented):
            _refuse(
                403,
                N_("This sign-in was not started in this browser. Start again from your app."),
                "callback without the browser's cookie",
            )
        provider = self._providers.get(session.idp_id)
        if provider is None:
            _refuse(400, N_("This sign-in's provider is no longer configured."), session.idp_id)
        return provider

    async def _account_for(self, provider: OidcProvider, claims: dict[str, object]) -> str:
        """The existing, active account of the ID token: the one its subject is linked to, else
        the one its localpart claim names (made now when the provider creates accounts), which
        is then linked to the subject (first use). An account linked to another subject of this
        provider is refused."""
        idp_id, subject = provider.config.id, str(claims["sub"])
        store, db = self._parts.store, self._parts.db
        user_id = await store.account_of_subject(db, idp_id, subject)
        if user_id is None:
            claim = claims.get(provider.config.localpart_claim)
            localpart = localpart_for_user_name(claim) if isinstance(claim, str) else ""
            user_id = f"@{localpart}:{self._settings.server_name}"
            if not localpart or not is_valid_user_id(user_id):
                user_id = ""
        user = await self._parts.users.get_user(db, user_id) if user_id else None
        if user is None and user_id:
            user = await self._provision(provider, claims, user_id)
        if user is None or user.is_deactivated:
            _refuse(
                403,
                N_("There is no active account for you on this server. Ask your administrator."),
                f"no active account {user_id!r} for sub {subject!r} of {idp_id}",
            )
        if user.admin_locked:
            _refuse(403, N_("Your account is locked. Ask your administrator."), f"{user_id} locked")
        await self._link(idp_id, subject, user.user_id)
        return user.user_id

    async def _provision(
        self, provider: OidcProvider, claims: dict[str, object], user_id: str
    ) -> UserRecord | None:
        """The account made for a first sign-in when the provider creates accounts, else None."""
        provisioning = self._parts.provisioning
        if not provider.config.create_accounts or provisioning is None:
            return None
        name = claims.get(provider.config.displayname_claim)
        await provisioning.provision(
            provider.config.id, user_id, name if isinstance(name, str) else None
        )
        return await self._parts.users.get_user(self._parts.db, user_id)

    async def _link(self, idp_id: str, subject: str, user_id: str) -> None:
        """Link the account to the subject on its first sign-in; refuse another subject."""
        store, db = self._parts.store, self._parts.db
        linked = await store.subject_of_account(db, idp_id, user_id)
        if linked is None:
            try:
                async with db.transaction() as txn:
                    await store.link_subject(
                        txn, idp_id, subject, user_id, self._parts.clock.now_ms()
                    )
                return
            except UniqueViolation:  # a sign-in racing this one linked it first
                linked = await store.subject_of_account(db, idp_id, user_id)
        if linked != subject:
            _refuse(
                403,
                N_(
                    "Your account is linked to another sign-in of this provider. Ask your "
                    "administrator."
                ),
                f"{user_id} is linked to another subject of {idp_id}, not {subject!r}",
            )


def _identity_provider(config: SsoProvider) -> dict[str, object]:
    """One `identity_providers` entry of `GET /login` (spec: definitions/sso_login_flow)."""
    entry: dict[str, object] = {"id": config.id, "name": config.name}
    if config.brand:
        entry["brand"] = config.brand
    if config.icon:
        entry["icon"] = config.icon
    return entry


def _refuse(status: int, message: str, detail: str, **values: str) -> NoReturn:
    log.warning("SSO sign-in refused (%d): %s", status, detail)
    raise SsoRefused(status, message, values)
