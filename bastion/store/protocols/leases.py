"""Worker leases: which process runs a background worker when several serve one database.

A lease is named (a worker's name) and held by at most one process at a time. It is never held
past the life of the process that took it: on PostgreSQL it is a session-level advisory lock on a
connection of its own, which the server releases when that connection ends (a clean stop, a
`kill -9`, a lost network), so another process can take it over. A process learns that it lost a
lease (its connection dropped) at its next `hold`, which then tries to take it afresh.

Leases are scoped to the database schema ([database] schema), so several Bastions sharing one
PostgreSQL server in different schemas never contend.
"""

from __future__ import annotations

from typing import Protocol


class WorkerLeases(Protocol):
    """Named leases for this process; see the module docstring."""

    async def hold(self, name: str) -> bool:
        """True if this process holds lease `name` now: kept if it still holds it, else taken if
        no other process holds it (never waits for one that does)."""
        ...

    async def release(self, name: str) -> None:
        """Give lease `name` up (nothing if not held)."""
        ...

    async def close(self) -> None:
        """Give every lease up and close what holds them."""
        ...
