"""The hash chain over audit records, and its verification.

Each record's `hash` is SHA-256 over the canonical JSON of its fields (sequence number, time,
actor, action, target, outcome, details) and the previous record's hash. So:

- altering any field of a row changes what its hash should be: found at that row;
- deleting a row leaves a gap in the sequence numbers, or (the last rows) a head that names a
  later sequence number than the last row: found at the gap or the head;
- inserting a forged row needs the hashes of every later row recomputed, and the head's.

What the chain does not stop is someone with write access to the database recomputing every hash
after their change; an operator who needs that keeps exported copies (JSONL with hashes) off the
machine, and any two copies can be compared by hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bastion.events.canonical import canonical_json
from bastion.store.database import Queryable
from bastion.store.protocols.audit import AuditRow, AuditStore

GENESIS_HASH = "0" * 64
_BATCH = 1000


def hashed_fields(row: AuditRow) -> dict[str, Any]:
    """Every field of a record but its own hash, `details` as an object: what the hash covers."""
    return {
        "seq": row.seq,
        "ts": row.ts,
        "actor_kind": row.actor_kind,
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "details": json.loads(row.details),
        "prev_hash": row.prev_hash,
    }


def expected_hash(row: AuditRow) -> str:
    """What `row.hash` must be for the row's own contents."""
    return hashlib.sha256(canonical_json(hashed_fields(row))).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the chain: `broken_at` is the first bad sequence number."""

    records: int
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _check_row(row: AuditRow, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"records {expected_seq} to {row.seq - 1} are missing (deleted)"
    if row.prev_hash != prev_hash:
        return "its prev_hash does not match the previous record (a record before it was changed)"
    try:
        if expected_hash(row) != row.hash:
            return "its contents do not match its hash (the record was altered)"
    except ValueError:
        return "its details are not valid JSON (the record was altered)"
    return None


async def verify_chain(q: Queryable, store: AuditStore) -> ChainReport:
    """Walk the whole chain in order and name the first record that does not hold."""
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    while True:
        rows = await store.rows_after(q, expected_seq - 1, _BATCH)
        for row in rows:
            problem = _check_row(row, expected_seq, prev_hash)
            if problem is not None:
                return ChainReport(count, broken_at=expected_seq, problem=problem)
            prev_hash, expected_seq, count = row.hash, row.seq + 1, count + 1
        if len(rows) < _BATCH:
            break
    head_seq, head_hash = await store.head(q)
    if head_seq != expected_seq - 1:
        return ChainReport(
            count,
            broken_at=expected_seq,
            problem=f"the log ends at record {expected_seq - 1} but {head_seq} were written"
            " (the last records were deleted)",
        )
    if head_hash != prev_hash:
        return ChainReport(count, broken_at=head_seq, problem="the head's hash does not match")
    return ChainReport(count)
