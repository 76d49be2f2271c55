"""Data-leak prevention's review queue (see migrations/0022_create_dlp_reviews.*.sql).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class NewDlpReview(msgspec.Struct, frozen=True):
    """A review entry to add: the event a `flag` policy matched (never the matched text)."""

    created_ts: int
    room_id: str
    event_id: str
    sender: str
    event_type: str
    policy: str
    detectors: list[str]
    fields: list[str]


class DlpReview(msgspec.Struct, frozen=True):
    """One entry of the review queue; `status` is `open` or `resolved`."""

    review_id: int
    created_ts: int
    room_id: str
    event_id: str
    sender: str
    event_type: str
    policy: str
    detectors: list[str]
    fields: list[str]
    status: str
    resolved_by: str | None
    resolved_ts: int | None
    resolution: str | None


class DlpReviewStore(Protocol):
    """The review queue, oldest first."""

    async def insert_review(self, q: Queryable, review: NewDlpReview) -> int: ...
    async def list_reviews(
        self, q: Queryable, *, status: str | None, after: int, limit: int
    ) -> list[DlpReview]: ...
    async def get_review(self, q: Queryable, review_id: int) -> DlpReview | None: ...
    async def resolve_review(
        self, q: Queryable, review_id: int, *, resolved_by: str, resolved_ts: int, resolution: str
    ) -> bool: ...
