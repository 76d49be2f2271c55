"""Accounts made at a person's first sign-in, for providers with `create_accounts` (off by
default: accounts come from an admin or SCIM). The identity provider's assignment of the app
then decides who gets an account, as it decides who may sign in; useful without SCIM (Google
Workspace, a small Entra tenant).

The account has no password (its owner signs in with the provider; UIA offers them SSO), its
display name is the ID token's `displayname_claim` when present, and its creation is audited as
`user.create` by the server acting for the provider, then announced as any new account's is
(the acceptable-use notice, the default rooms). Two first sign-ins racing: one creates, the
other finds the account (and both link the same subject, or the second is refused).
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.services.accounts import AccountService
from bastion.services.principal import ServerActor, log_admin_action
from bastion.store.database import Database

MAX_DISPLAYNAME = 256


class SsoAccountProvisioning:
    """Creates the account of a first sign-in (services/sso/flow.py asks)."""

    def __init__(self, db: Database, accounts: AccountService) -> None:
        self._db = db
        self._accounts = accounts

    async def provision(self, idp_id: str, user_id: str, displayname: str | None) -> bool:
        """Create `user_id`; False when it exists already (a racing sign-in made it), or its
        name is refused (an application service's exclusive namespace)."""
        actor = ServerActor(f"single sign-on with {idp_id}")
        name = displayname.strip()[:MAX_DISPLAYNAME] if displayname else None
        audit = self._accounts.audit
        try:
            async with self._db.transaction() as txn:
                await self._accounts.insert_account(
                    txn, user_id, None, is_admin=False, displayname=name or None
                )
                await audit.record(txn, actor, "user.create", user_id, {"sso": idp_id})
        except MatrixError as exc:
            if exc.errcode in (Errcode.USER_IN_USE, Errcode.EXCLUSIVE):
                return False
            raise
        log_admin_action(actor, f"created {user_id} at its first sign-in")
        await self._accounts.announce_created(user_id)
        return True
