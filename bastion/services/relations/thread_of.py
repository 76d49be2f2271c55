"""Which thread an event belongs to (spec: #threaded-read-receipts, #receiving-notifications).

An event is in thread T when its `m.thread` relation names T, or when it relates (an edit, a
reaction, a reference) to an event in T; the spec recommends following at most three such hops.
Everything else, thread roots included, is in the main timeline.
"""

from __future__ import annotations

from bastion.events.model import StoredEvent
from bastion.events.relation import Relation, RelType, relation_of
from bastion.store.database import Queryable
from bastion.store.protocols import RelationStore

MAIN_THREAD = "main"
_MAX_HOPS = 3


async def thread_of(q: Queryable, relations: RelationStore, event: StoredEvent) -> str:
    """The thread root's event ID, or 'main'."""
    relation = relation_of(event.content)
    for _ in range(_MAX_HOPS):
        if relation is None:
            break
        if relation.rel_type == RelType.THREAD:
            return relation.event_id
        parent = await relations.get_relation(q, relation.event_id)
        relation = Relation(parent.rel_type, parent.relates_to_id) if parent is not None else None
    return MAIN_THREAD
