"""The relations event hook: refusals and rows for `m.relates_to`, in the event's transaction.

Both the refusals and the rows belong to the `record` phase (services/event_hooks.py), not to
`check`: refusing a duplicate annotation or a thread started from a child needs the database as
of the room's current end, and only the pipeline's transaction reads it so. The pipeline's
compare-and-set on that end serialises writers of one room, so two identical reactions racing
each other cannot both pass (the loser is rebuilt on the new end and refused). A refusal rolls
back the whole transaction: the event and every hook's rows with it.
"""

from __future__ import annotations

from typing_extensions import override

from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.events.relation import RelType, is_tracked, relation_of
from bastion.events.types import EventType
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import RelationNoted
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.formatting.changes import RelationChangeCache
from bastion.store.database import Queryable
from bastion.store.protocols import RelationRecord, RelationStore


class RelationRecorder(EventHook):
    """Keeps `event_relations` and `threads` in step with the events the pipeline stores."""

    def __init__(
        self, store: RelationStore, changes: RelationChangeCache, bus: Bus | None = None
    ) -> None:
        self._store = store
        self._changes = changes
        self._bus = bus

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        """Refuse what the spec tells servers to refuse, then record the event's relationship
        or end the one its redaction removes.

        Raises:
            MatrixError: 400 M_DUPLICATE_ANNOTATION for a second identical annotation by the same
                sender (spec: #avoiding-duplicate-annotations); 400 M_UNKNOWN for a thread
                started from an event that itself has a relationship
                (spec: #validation-of-mthread-relationships).
        """
        await self._refuse(q, event)
        await self._record(q, event)

    async def _refuse(self, q: Queryable, event: StoredEvent) -> None:
        relation = relation_of(event.content)
        if relation is None:
            return
        if relation.rel_type == RelType.ANNOTATION and relation.key is not None:
            if await self._store.has_annotation(
                q, relation.event_id, event.sender, event.type, relation.key
            ):
                raise MatrixError(
                    400,
                    Errcode.DUPLICATE_ANNOTATION,
                    f"you already annotated {relation.event_id} with {relation.key!r}",
                )
        elif relation.rel_type == RelType.THREAD:
            parent = await self._store.get_relation(q, relation.event_id)
            if parent is not None:
                raise MatrixError(
                    400,
                    Errcode.UNKNOWN,
                    f"cannot start a thread from {relation.event_id}: it is itself a"
                    f" {parent.rel_type} relation",
                )

    async def _record(self, q: Queryable, event: StoredEvent) -> None:
        if event.type == EventType.REDACTION:
            redacts = event.content.get("redacts")
            if isinstance(redacts, str):
                await self._forget(q, redacts)
            return
        relation = relation_of(event.content)
        if relation is None or not is_tracked(
            relation, state_key=event.state_key, content=event.content
        ):
            return
        self._changes.note(event.room_id, event.stream_ordering)
        if self._bus is not None:  # other processes' caches: early is harmless, late is not
            self._bus.publish(RelationNoted(event.room_id, event.stream_ordering))
        await self._store.insert_relation(
            q,
            RelationRecord(
                event_id=event.event_id,
                relates_to_id=relation.event_id,
                rel_type=relation.rel_type,
                aggregation_key=relation.key,
                room_id=event.room_id,
                type=event.type,
                sender=event.sender,
                stream_ordering=event.stream_ordering,
                origin_server_ts=event.origin_server_ts,
            ),
        )
        if relation.rel_type == RelType.THREAD:
            await self._store.touch_thread(
                q, event.room_id, relation.event_id, event.event_id, event.stream_ordering
            )

    async def _forget(self, q: Queryable, event_id: str) -> None:
        """A redacted child loses its `m.relates_to`: it stops counting anywhere."""
        removed = await self._store.delete_relation(q, event_id)
        if removed is not None and removed.rel_type == RelType.THREAD:
            await self._store.refresh_thread(q, removed.room_id, removed.relates_to_id)
