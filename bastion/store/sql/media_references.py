"""SQL for the media reference index (`media_references`, migration 0042).

`NAMED_BY_STORED_CONTENT` is THE clause for "a stored event, or a kept original of one, still
names this file": the index narrows the search to the events that ever named the media ID, and
their JSON is checked for the URI (an event purged or pruned since no longer names it).
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable

_HAS_MXC = "LIKE '%mxc://%'"


def named_in(table: str, alias: str, also: str = "") -> str:
    """SQL true when a row of `table` (`events`, `redacted_event_originals`,
    `held_event_originals`; as `alias`) indexed under media ID `?` has JSON LIKE `?` (the
    URI's pattern): two parameters; `also`, more conditions (on `alias`) that row must meet."""
    return (
        f"EXISTS (SELECT 1 FROM media_references mr JOIN {table} {alias}"
        f" ON {alias}.event_id = mr.event_id WHERE mr.media_id = ? AND {alias}.pdu LIKE ?"
        f"{f' AND {also}' if also else ''})"
    )


class SqlMediaReferenceStore:
    """Inserted with events (ignoring repeats), read by the purges through `named_in`."""

    async def add(self, q: Queryable, references: Sequence[tuple[str, str]]) -> None:
        if references:
            await q.execute_many(
                "INSERT INTO media_references (media_id, event_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                list(references),
            )

    async def backfill_position(self, q: Queryable) -> int:
        value = await q.fetch_val("SELECT upto FROM media_references_backfill")
        return int(value or 0)

    async def set_backfill_position(self, q: Queryable, upto: int) -> None:
        await q.execute("UPDATE media_references_backfill SET upto = ?", upto)

    async def contents_between(self, q: Queryable, low: int, high: int) -> list[tuple[str, str]]:
        """(event ID, stored JSON) naming any `mxc://` of the events at positions low..high and
        of their kept originals (redacted, held)."""
        window = "stream_ordering BETWEEN ? AND ?"
        rows = await q.fetch_all(
            f"SELECT event_id, pdu FROM events WHERE {window} AND pdu {_HAS_MXC}"
            " UNION ALL SELECT o.event_id, o.pdu FROM redacted_event_originals o JOIN events e"
            f" ON e.event_id = o.event_id WHERE e.{window} AND o.pdu {_HAS_MXC}"
            " UNION ALL SELECT h.event_id, h.pdu FROM held_event_originals h JOIN events e"
            f" ON e.event_id = h.event_id WHERE e.{window} AND h.pdu {_HAS_MXC}",
            low, high, low, high, low, high,
        )  # fmt: skip
        return [(str(r[0]), str(r[1])) for r in rows]

    async def orphan_original_contents(self, q: Queryable) -> list[tuple[str, str]]:
        """(event ID, stored JSON) of kept originals whose event is no longer stored."""
        rows = await q.fetch_all(
            "SELECT o.event_id, o.pdu FROM redacted_event_originals o WHERE NOT EXISTS"
            f" (SELECT 1 FROM events e WHERE e.event_id = o.event_id) AND o.pdu {_HAS_MXC}"
            " UNION ALL SELECT h.event_id, h.pdu FROM held_event_originals h WHERE NOT EXISTS"
            f" (SELECT 1 FROM events e WHERE e.event_id = h.event_id) AND h.pdu {_HAS_MXC}"
        )
        return [(str(r[0]), str(r[1])) for r in rows]
