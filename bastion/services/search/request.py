"""The shapes of `POST /search` (spec: client-server-api#post_matrixclientv3search) and its
`next_batch` token.

The request body decodes straight into `SearchRequest` at the HTTP edge: a missing
`search_categories`, `room_events` or `search_term`, or a value outside the spec's enums, is
400 M_BAD_JSON there. Response fields the spec marks optional are omitted when empty.

`next_batch` is opaque to clients: `r<offset>_<seen>` when ordered by rank (matches already
looked at), `t<position>_<seen>` when ordered by recency (continue below that position); `seen`
is the number of results returned on earlier pages, which keeps `count` a total across pages.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import RoomEventFilter
from bastion.events.typed_json import NonNegativeInt
from bastion.json_types import JsonObject

SearchKey = Literal["content.body", "content.name", "content.topic"]


class EventContextSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """`event_context`: how many events around each result, and the senders' profiles."""

    before_limit: NonNegativeInt = 5
    after_limit: NonNegativeInt = 5
    include_profile: bool = False


class GroupBy(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One requested grouping."""

    key: Literal["room_id", "sender"]


class Groupings(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """`groupings`: partition the results by room or sender."""

    group_by: list[GroupBy] = []


class RoomEventsCriteria(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """`search_categories.room_events`."""

    search_term: str
    keys: list[SearchKey] | None = None  # None: every key
    filter: RoomEventFilter = RoomEventFilter()
    order_by: Literal["rank", "recent"] = "rank"
    event_context: EventContextSpec | None = None
    include_state: bool = False
    groupings: Groupings = Groupings()


class SearchCategories(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """`search_categories`: room events is the only category the spec defines."""

    room_events: RoomEventsCriteria


class SearchRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The body of `POST /search`."""

    search_categories: SearchCategories


class ResultContext(msgspec.Struct, frozen=True, omit_defaults=True):
    """The events around one result, visible to the searcher."""

    start: str
    end: str
    events_before: list[JsonObject]
    events_after: list[JsonObject]
    profile_info: dict[str, JsonObject] | None = None


class SearchResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """One matching event."""

    rank: float
    result: JsonObject
    context: ResultContext | None = None


class GroupValue(msgspec.Struct, frozen=True):
    """The results of this page that share one room or sender; `order` ranks the groups."""

    order: int
    results: list[str]


class RoomEventsResults(msgspec.Struct, frozen=True, omit_defaults=True):
    """`search_categories.room_events` of the response."""

    results: list[SearchResult]
    count: int
    highlights: list[str]
    next_batch: str | None = None
    groups: dict[str, dict[str, GroupValue]] | None = None
    state: dict[str, list[JsonObject]] | None = None


class ResultCategories(msgspec.Struct, frozen=True):
    room_events: RoomEventsResults


class SearchResponse(msgspec.Struct, frozen=True):
    """The body of the response."""

    search_categories: ResultCategories


class Cursor(msgspec.Struct, frozen=True):
    """Where a page starts: `offset` matches in (rank) or below position `before` (recent)."""

    by_rank: bool
    offset: int = 0
    before: int | None = None
    seen: int = 0

    def token(self) -> str:
        """The `next_batch` that resumes here."""
        if self.by_rank:
            return f"r{self.offset}_{self.seen}"
        return f"t{self.before}_{self.seen}"


_TOKEN = re.compile(r"([rt])(\d{1,18})_(\d{1,9})")


def parse_cursor(next_batch: str | None, *, by_rank: bool) -> Cursor:
    """The cursor of a `next_batch`; 400 M_INVALID_PARAM when it is not one of ours or was
    made for the other order."""
    if next_batch is None:
        return Cursor(by_rank)
    match = _TOKEN.fullmatch(next_batch)
    if match is None or (match[1] == "r") != by_rank:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid next_batch {next_batch!r}")
    value, seen = int(match[2]), int(match[3])
    if by_rank:
        return Cursor(by_rank, offset=value, seen=seen)
    return Cursor(by_rank, before=value, seen=seen)
