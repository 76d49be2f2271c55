"""Keeping the policy document: read (cached), replace (versioned, audited with its diff), seed.

The document in force is read on hot paths (every createRoom, every power-level change), so it is
cached in process and dropped when the bus says a new version committed (the same message reaches
every process once the bus spans processes). A change is one transaction: the new version row and
its audit record (with the diff) commit together.
"""

from __future__ import annotations

import json
from typing import Any

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated
from bastion.services.audit.trail import AuditTrail
from bastion.services.policy.document import PolicyDocument, diff, parse_policy, policy_json
from bastion.services.principal import Principal, ServerActor
from bastion.store.database import Database, UniqueViolation
from bastion.store.protocols.policy import PolicyStore, PolicyVersion

POLICY_CACHE = "org_policy"


class PolicyService:
    """The organisation policy in force, and its changes."""

    def __init__(
        self, db: Database, store: PolicyStore, audit: AuditTrail, bus: Bus, clock: Clock
    ) -> None:
        self._db, self._store, self._audit, self._bus, self._clock = db, store, audit, bus, clock
        self._cached: tuple[int, PolicyDocument] | None = None

    def invalidate(self, _key: str) -> None:
        """Drop the cached document (a new version committed, here or in another process)."""
        self._cached = None

    async def current(self) -> PolicyDocument:
        """The document in force (the defaults before any version exists)."""
        return (await self.current_version())[1]

    async def current_version(self) -> tuple[int, PolicyDocument]:
        """(version, document) in force; version 0 means the built-in defaults."""
        cached = self._cached
        if cached is not None:
            return cached
        latest = await self._store.latest(self._db)
        loaded = (0, PolicyDocument()) if latest is None else (
            latest.version, parse_policy(json.loads(latest.document))
        )  # fmt: skip
        self._cached = loaded
        return loaded

    async def get(self, actor: Principal) -> tuple[int, PolicyDocument]:
        """The document in force, for an admin."""
        actor.require_admin()
        return await self.current_version()

    async def replace(
        self, actor: Principal, raw: object, *, expected_version: int | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Put a new version in force; returns (version, diff). Audited with the diff.

        With `expected_version` (what the editor read), a document changed meanwhile is refused
        with 409, so two admins editing at once cannot silently undo each other's change."""
        actor.require_admin()
        async with self._audit.attempt(actor, "policy.update", "policy"):
            document = parse_policy(raw)
            return await self._store_version(actor, document, expected_version)

    async def seed(self, raw: dict[str, Any]) -> None:
        """On first start, put the config's `[policy]` in force (nothing once a version exists;
        an empty section leaves the built-in defaults, version 0). Invalid: 400 naming it."""
        document = parse_policy(raw)
        if not raw or await self._store.latest(self._db) is not None:
            return
        try:
            await self._store_version(ServerActor("seeded from the configuration"), document)
        except UniqueViolation:
            return  # another process seeded it first

    async def _store_version(
        self, actor: Principal, document: PolicyDocument, expected_version: int | None = None
    ) -> tuple[int, dict[str, Any]]:
        new_json = policy_json(document)
        async with self._db.transaction() as tx:
            latest = await self._store.latest(tx)
            current = 0 if latest is None else latest.version
            if expected_version is not None and expected_version != current:
                raise MatrixError(
                    409,
                    Errcode.STALE_VERSION,
                    f"The policy is at version {current}, not {expected_version}: someone changed"
                    " it since you read it. Read it again and reapply your change.",
                )
            version = 1 if latest is None else latest.version + 1
            old_json = (
                policy_json(PolicyDocument())
                if latest is None
                else policy_json(parse_policy(json.loads(latest.document)))
            )
            changes = diff(old_json, new_json)
            await self._store.insert(
                tx,
                PolicyVersion(version, json.dumps(new_json), actor.audit_id, self._clock.now_ms()),
            )
            await self._audit.record(
                tx, actor, "policy.update", "policy", {"version": version, "changes": changes}
            )
        self._cached = None
        self._bus.publish(CacheInvalidated(POLICY_CACHE, "policy"))
        return version, changes
