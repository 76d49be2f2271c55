"""User roles granted by an admin: `compliance` may place, list and release legal holds.

Roles sit beside server admin (which implies every role); they are read per request (one
indexed query) so a revocation takes effect at once. Granting is audited (`user.roles`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Principal, Requester
from bastion.store.database import Database
from bastion.store.protocols.compliance import RoleStore

COMPLIANCE = "compliance"
ROLES = frozenset({COMPLIANCE})


class Roles:
    """Reads and replaces a user's roles."""

    def __init__(self, db: Database, store: RoleStore, audit: AuditTrail, clock: Clock) -> None:
        self._db, self._store, self._audit, self._clock = db, store, audit, clock

    async def roles_of(self, actor: Principal, user_id: str) -> list[str]:
        """A user's roles, for an admin."""
        actor.require_admin()
        return await self._store.roles_of(self._db, user_id)

    async def set_roles(self, actor: Principal, user_id: str, roles: Sequence[str]) -> list[str]:
        """Replace a user's roles (admins only; audited); 400 for an unknown role."""
        actor.require_admin()
        async with self._audit.attempt(actor, "user.roles", user_id):
            unknown = sorted(set(roles) - ROLES)
            if unknown:
                raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown role {unknown[0]!r}")
            granted = sorted(set(roles))
            async with self._db.transaction() as t:
                await self._store.set_roles(
                    t, user_id, granted, actor.audit_id, self._clock.now_ms()
                )
                await self._audit.record(t, actor, "user.roles", user_id, {"roles": granted})
        return granted

    async def require_role(self, actor: Principal, role: str) -> None:
        """403 unless `actor` is a server admin or a user granted `role`."""
        if isinstance(actor, Requester) and not actor.is_admin:
            if role in await self._store.roles_of(self._db, actor.user_id):
                return
            raise MatrixError(403, Errcode.FORBIDDEN, f"You need the {role!r} role")
        actor.require_admin()
