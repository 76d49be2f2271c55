"""Application services' delivery progress (services/appservices/). See `bastion.store.protocols`
for how stores are used."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable
from bastion.store.records import ReceiptRecord


class AppServiceStream(msgspec.Struct, frozen=True):
    """How far one registration's transactions have reached (migration 0031)."""

    appservice_id: str
    done_upto: int  # every event at or below it was delivered or was of no interest
    txn_id: int  # the ID of the transaction being sent, or of the next one
    pending_upto: int | None  # the transaction being sent covers (done_upto, pending_upto]
    pending_events: list[str] | None  # and holds these events (their IDs), in stream order
    pending_ephemeral: list[dict[str, Any]] | None = None  # and these receipts and typing
    # and these to-device messages and device-list changes (services/appservices/encryption.py)
    pending_encryption: dict[str, Any] | None = None
    failing_since_ms: int | None = None
    last_error: str | None = None


class AppServiceStore(Protocol):
    """One progress row per registration, and the event stream it walks."""

    async def get_stream(self, q: Queryable, appservice_id: str) -> AppServiceStream | None: ...
    async def start_stream(self, q: Queryable, appservice_id: str, done_upto: int) -> None: ...
    async def set_pending(
        self,
        q: Queryable,
        appservice_id: str,
        pending_upto: int,
        contents: tuple[list[str], list[dict[str, Any]]],
        encryption: dict[str, Any] | None = None,
    ) -> None: ...
    async def skip_to(self, q: Queryable, appservice_id: str, done_upto: int) -> None: ...
    async def delivered(
        self, q: Queryable, appservice_id: str, done_upto: int, next_txn_id: int
    ) -> None: ...
    async def set_failing(
        self, q: Queryable, appservice_id: str, since_ms: int, error: str
    ) -> None: ...
    async def stream_events(
        self, q: Queryable, after: int, upto: int, limit: int
    ) -> list[StoredEvent]: ...
    async def stream_receipts(
        self, q: Queryable, after: int, upto: int, limit: int
    ) -> list[ReceiptRecord]: ...
