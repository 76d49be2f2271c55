"""Bundled aggregations: `unsigned["m.relations"]` on every event a client reads.

spec: client-server-api#aggregations-of-child-events. For a page of events, and at a constant
number of queries per page whatever its size:

* `m.thread`: the latest thread event (serialised like any event, with its own aggregations),
  the number of thread events, and whether the viewer sent the root or any thread event.
* `m.replace`: the most recent valid edit (same sender and type as a non-state original that is
  not itself an edit; latest `origin_server_ts`, then `event_id`). Never for a redacted
  original, and the original's content is left as it is (spec: #server-side-aggregation-of-
  mreplace-relationships).
* `m.reference`: the event IDs of the references.
* `m.annotation` is not aggregated (spec).

Children are read through the visibility door (`aggregation_rows`): a thread summary or edit
whose event the viewer may not see is left out, as is an invisible reference. State events get
no aggregations.
Queries: none for a page whose rooms gained no relationships since its oldest event (see
changes.py); otherwise one for the candidates, one for the viewer's membership per room, and the
same again once for the bundled events themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bastion.events.model import StoredEvent
from bastion.events.relation import RelType, is_edit
from bastion.json_types import JsonObject
from bastion.services.formatting.changes import RelationChangeCache
from bastion.services.principal import Requester
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import AggregationRow

Serialise = Callable[[Sequence[StoredEvent], Requester | None], Awaitable[list[JsonObject]]]

# The page's events, then the events bundled into them (whose own bundles stop there).
MAX_NESTING = 2


class BundledAggregations:
    """Adds `unsigned["m.relations"]` to serialised events, a page at a time."""

    def __init__(
        self,
        db: Database,
        visibility: VisibilityService,
        changes: RelationChangeCache,
    ) -> None:
        self._db = db
        self._visibility = visibility
        self._changes = changes

    async def attach(
        self,
        events: Sequence[StoredEvent],
        out: list[JsonObject],
        requester: Requester | None,
        serialise: Serialise,
        *,
        nesting: int = 0,
    ) -> None:
        """Bundle into each `out[i]`, the client form of `events[i]`, its aggregations."""
        if requester is None or nesting >= MAX_NESTING:
            return
        parents = self._candidates(events)
        if not parents:
            return
        viewer = requester.user_id
        rows = await self._visibility.aggregation_rows(viewer, list(parents))
        bundled = _bundled_events(rows, parents)
        clients: dict[str, JsonObject] = {}
        if bundled:
            bundled_out = await serialise(bundled, requester)
            await self.attach(bundled, bundled_out, requester, serialise, nesting=nesting + 1)
            clients = {e.event_id: c for e, c in zip(bundled, bundled_out, strict=True)}
        relations = _relations(rows, parents, clients, viewer)
        for event, client in zip(events, out, strict=True):
            if event.event_id in relations:
                client["unsigned"]["m.relations"] = relations[event.event_id]

    def _candidates(self, events: Sequence[StoredEvent]) -> dict[str, StoredEvent]:
        """The non-state events of rooms that may have relationships after the page began."""
        oldest: dict[str, int] = {}
        for event in events:
            if not event.is_state:
                oldest[event.room_id] = min(
                    event.stream_ordering, oldest.get(event.room_id, event.stream_ordering)
                )
        rooms = {r for r, p in oldest.items() if self._changes.may_have_children(r, p)}
        return {e.event_id: e for e in events if not e.is_state and e.room_id in rooms}


def _keeps_edits(parent: StoredEvent) -> bool:
    """A redacted original, or an edit, bundles no edits (spec)."""
    return parent.redacted_by is None and not is_edit(parent.content)


def _bundled_events(
    rows: list[AggregationRow], parents: dict[str, StoredEvent]
) -> list[StoredEvent]:
    """The events serialised inside aggregations: latest thread events and latest edits."""
    return [
        row.event
        for row in rows
        if row.rel_type == RelType.THREAD
        or (row.rel_type == RelType.REPLACE and _keeps_edits(parents[row.relates_to_id]))
    ]


def _relations(
    rows: list[AggregationRow],
    parents: dict[str, StoredEvent],
    clients: dict[str, JsonObject],
    viewer: str,
) -> dict[str, JsonObject]:
    """parent event ID -> its `m.relations` object."""
    relations: dict[str, JsonObject] = {}
    for row in rows:
        parent = parents[row.relates_to_id]
        bundle = relations.setdefault(row.relates_to_id, {})
        if row.rel_type == RelType.THREAD:
            bundle[RelType.THREAD.value] = {
                "latest_event": clients[row.event.event_id],
                "count": row.count,
                "current_user_participated": row.viewer_participated or parent.sender == viewer,
            }
        elif row.rel_type == RelType.REPLACE and row.event.event_id in clients:
            bundle[RelType.REPLACE.value] = clients[row.event.event_id]
        elif row.rel_type == RelType.REFERENCE:
            references = bundle.setdefault(RelType.REFERENCE.value, {"chunk": []})
            references["chunk"].append({"event_id": row.event.event_id})
    return {parent_id: bundle for parent_id, bundle in relations.items() if bundle}
