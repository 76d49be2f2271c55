"""Writing audit records: in the action's own transaction, and failures on their own.

Services call `record(q, actor, action, ...)` with the transaction that performs the action, so
the record commits with the action or not at all: an action that cannot be audited does not
happen (a failed insert rolls the action back). An action that fails (refused, invalid, not
found) is recorded as failed by `attempt()`, in a transaction of its own after the action's has
rolled back.

Action names are dotted, area first: `user.deactivate`, `room.delete`, `policy.update`,
`login.failure`. Targets are what the action was done to (a user ID, a room ID, a hold ID).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from bastion.clock import Clock
from bastion.errors import MatrixError
from bastion.events.canonical import canonical_json
from bastion.services.audit.chain import expected_hash
from bastion.services.principal import Principal
from bastion.store.database import Database, Queryable
from bastion.store.protocols.audit import AuditRow, AuditStore

SUCCESS = "success"
FAILURE = "failure"


def actor_fields(actor: Principal) -> tuple[str, str]:
    """How the log names an actor: (kind, identifier), e.g. ("user", "@alice:example.org")."""
    return str(actor.kind), actor.audit_id


class AuditTrail:
    """Appends records to the hash-chained log."""

    def __init__(self, db: Database, store: AuditStore, clock: Clock) -> None:
        self._db, self._store, self._clock = db, store, clock

    async def record(
        self,
        q: Queryable,
        actor: Principal,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        outcome: str = SUCCESS,
    ) -> int:
        """Append one record in `q`'s transaction; returns its sequence number."""
        kind, name = actor_fields(actor)
        body = dict(details or {})
        if actor.audit_name != name:
            body.setdefault("actor_name", actor.audit_name)
        return await self.append(q, kind, name, action, target, body, outcome=outcome)

    async def append(
        self,
        q: Queryable,
        actor_kind: str,
        actor: str,
        action: str,
        target: str | None,
        details: Mapping[str, Any],
        *,
        outcome: str = SUCCESS,
    ) -> int:
        """Append a record for an actor named directly (a room event's sender, known only by
        user ID): `record` is the usual door."""
        kind, name = actor_kind, actor
        details_json = canonical_json(dict(details)).decode()
        seq, prev_hash = await self._store.advance_head(q)
        ts = self._clock.now_ms()
        unsealed = AuditRow(
            seq, ts, kind, name, action, target, outcome, details_json, prev_hash, hash=""
        )
        row = msgspec.structs.replace(unsealed, hash=expected_hash(unsealed))
        await self._store.append(q, row)
        await self._store.set_head_hash(q, row.hash)
        return seq

    async def record_alone(
        self,
        actor: Principal,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        outcome: str = SUCCESS,
    ) -> int:
        """Append one record in a transaction of its own (for actions that write nothing else)."""
        async with self._db.transaction() as tx:
            return await self.record(tx, actor, action, target, details, outcome=outcome)

    @asynccontextmanager
    async def attempt(
        self, actor: Principal, action: str, target: str | None = None
    ) -> AsyncIterator[None]:
        """Record `action` as failed if the block raises (the block records its own success)."""
        try:
            yield
        except MatrixError as exc:
            reason = {"errcode": exc.errcode, "error": exc.message, "status": exc.status}
            await self.record_alone(actor, action, target, reason, outcome=FAILURE)
            raise
        except Exception as exc:
            reason = {"error": type(exc).__name__}
            await self.record_alone(actor, action, target, reason, outcome=FAILURE)
            raise


def details_of(row: AuditRow) -> dict[str, Any]:
    """A stored record's details as an object."""
    loaded: dict[str, Any] = json.loads(row.details)
    return loaded
