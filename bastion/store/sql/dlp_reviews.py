"""SQL for data-leak prevention's review queue (`dlp_reviews`)."""

from __future__ import annotations

import json
from typing import Any

from bastion.store.database import Queryable
from bastion.store.protocols.dlp import DlpReview, NewDlpReview

_COLUMNS = (
    "review_id, created_ts, room_id, event_id, sender, event_type, policy, detectors, fields,"
    " status, resolved_by, resolved_ts, resolution"
)


def _review(row: Any) -> DlpReview:
    return DlpReview(
        int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], row[6],
        json.loads(row[7]), json.loads(row[8]), row[9], row[10],
        None if row[11] is None else int(row[11]), row[12],
    )  # fmt: skip


class SqlDlpReviewStore:
    """Review entries by number; an entry is resolved at most once."""

    async def insert_review(self, q: Queryable, review: NewDlpReview) -> int:
        review_id = await q.fetch_val(
            "INSERT INTO dlp_reviews (created_ts, room_id, event_id, sender, event_type, policy,"
            " detectors, fields, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')"
            " RETURNING review_id",
            review.created_ts, review.room_id, review.event_id, review.sender,
            review.event_type, review.policy, json.dumps(review.detectors),
            json.dumps(review.fields),
        )  # fmt: skip
        return int(review_id)

    async def list_reviews(
        self, q: Queryable, *, status: str | None, after: int, limit: int
    ) -> list[DlpReview]:
        if status is None:
            rows = await q.fetch_all(
                f"SELECT {_COLUMNS} FROM dlp_reviews WHERE review_id > ?"
                " ORDER BY review_id LIMIT ?",
                after, limit,
            )  # fmt: skip
        else:
            rows = await q.fetch_all(
                f"SELECT {_COLUMNS} FROM dlp_reviews WHERE status = ? AND review_id > ?"
                " ORDER BY review_id LIMIT ?",
                status, after, limit,
            )  # fmt: skip
        return [_review(row) for row in rows]

    async def get_review(self, q: Queryable, review_id: int) -> DlpReview | None:
        row = await q.fetch_one(
            f"SELECT {_COLUMNS} FROM dlp_reviews WHERE review_id = ?", review_id
        )
        return None if row is None else _review(row)

    async def resolve_review(
        self, q: Queryable, review_id: int, *, resolved_by: str, resolved_ts: int, resolution: str
    ) -> bool:
        """Resolve an open entry; False when it is not open (unknown or already resolved)."""
        row = await q.fetch_one(
            "UPDATE dlp_reviews SET status = 'resolved', resolved_by = ?, resolved_ts = ?,"
            " resolution = ? WHERE review_id = ? AND status = 'open' RETURNING review_id",
            resolved_by, resolved_ts, resolution, review_id,
        )  # fmt: skip
        return row is not None
