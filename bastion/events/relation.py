"""What an event's `m.relates_to` says.

spec: client-server-api#forming-relationships-between-events.

Pure: no I/O. A relationship needs a `rel_type` and a parent `event_id`; rich replies
(`m.in_reply_to` alone) have no `rel_type` and are not relationships the server tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RelType(StrEnum):
    """The relationship types the server aggregates or checks."""

    REPLACE = "m.replace"
    ANNOTATION = "m.annotation"
    THREAD = "m.thread"
    REFERENCE = "m.reference"


@dataclass(frozen=True, slots=True)
class Relation:
    """A child's relationship to its parent; `key` only for annotations."""

    rel_type: str
    event_id: str
    key: str | None = None


def relation_of(content: dict[str, Any]) -> Relation | None:
    """The relationship `content` declares, or None when it declares none (or a malformed one)."""
    relates_to = content.get("m.relates_to")
    if not isinstance(relates_to, dict):
        return None
    rel_type, event_id = relates_to.get("rel_type"), relates_to.get("event_id")
    if not isinstance(rel_type, str) or not rel_type:
        return None
    if not isinstance(event_id, str) or not event_id.startswith("$"):
        return None
    key = relates_to.get("key") if rel_type == RelType.ANNOTATION else None
    return Relation(rel_type, event_id, key if isinstance(key, str) else None)


def is_tracked(relation: Relation, *, state_key: str | None, content: dict[str, Any]) -> bool:
    """Whether the server records this relationship at all.

    A replacement that is a state event or carries no `m.new_content` is invalid whatever its
    parent (spec: #validity-of-replacement-events) and is ignored, as if it had no relationship.
    The checks that need the parent (same sender, same type, parent not a state event) are made
    when aggregating, and an edit of an edit is skipped there too.
    """
    if relation.rel_type != RelType.REPLACE:
        return True
    return state_key is None and isinstance(content.get("m.new_content"), dict)


def is_edit(content: dict[str, Any]) -> bool:
    """True when `content` declares itself an edit (`m.replace`) of another event."""
    relation = relation_of(content)
    return relation is not None and relation.rel_type == RelType.REPLACE
