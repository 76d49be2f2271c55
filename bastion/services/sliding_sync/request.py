"""A sliding-sync request, validated into one typed shape whichever dialect it came in.

Two dialects (docs/subsystems/sliding-sync.md):
- pre-merge, what Element X (matrix-rust-sdk) and Synapse speak: `pos` and `timeout` as query
  parameters, `lists.*.ranges` ([[0, 19]]), `required_state` as [type, state_key] pairs,
  `filters.is_invite`, `txn_id` (echoed);
- merged (MSC4186 as merged): `pos`, `timeout` and `set_presence` in the body, `range`
  ([0, 19]), `required_state: {include: [{type?, state_key?}], exclude?, lazy_members?}`,
  `filters.is_invited`.
A request is merged when it uses a merged-only form, pre-merge when it uses a pre-merge-only
form, and otherwise the dialect of the path it came to (`default`).

Unknown fields, state types and extensions are accepted and ignored. Limits: at most 100 lists
and 100 room subscriptions (400 M_INVALID_PARAM past that), `timeline_limit` capped at
MAX_TIMELINE_LIMIT, `timeout` at MAX_TIMEOUT_MS.

A body is parsed once (equal bytes give an equal parse; the last 256 bodies are kept): Element
X repeats its body on every long-poll. What depends on the query string (pos, timeout,
set_presence, the dialect) is read per request. The parse is shared: never modify it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.query_params import query_int
from bastion.events.typed_json import NonNegativeInt, decode_as
from bastion.services.sliding_sync.room_model import RoomConfig, StateSelector

MAX_LISTS = 100
MAX_SUBSCRIPTIONS = 100
MAX_TIMELINE_LIMIT = 100
MAX_TIMEOUT_MS = 120_000
MAX_CONN_ID_LENGTH = 100
PRESENCE_VALUES = ("online", "offline", "unavailable")
WILDCARD = "*"
LAZY = "$LAZY"
MEMBER = "m.room.member"


class Dialect(StrEnum):
    """Which shape the client speaks (and is answered in)."""

    PRE_MERGE = "pre_merge"
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class ListFilters:
    """A list's filters; None means "not filtered on this"."""

    is_dm: bool | None = None
    is_encrypted: bool | None = None
    is_invite: bool | None = None
    room_types: tuple[str | None, ...] | None = None
    not_room_types: tuple[str | None, ...] = ()
    spaces: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    not_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListRequest:
    """One list: its filters, its ranges (None: every room) and its room config."""

    ranges: tuple[tuple[int, int], ...] | None
    filters: ListFilters
    config: RoomConfig


@dataclass(frozen=True, slots=True)
class SlidingSyncRequest:
    """One request, whichever dialect."""

    dialect: Dialect
    conn_id: str
    pos: str | None
    timeout_ms: int
    set_presence: str
    txn_id: str | None
    lists: Mapping[str, ListRequest]
    subscriptions: Mapping[str, RoomConfig]
    extensions: Mapping[str, Mapping[str, Any]]  # only those with `enabled: true`


class _StateElement(msgspec.Struct, frozen=True):
    type: str | None = None
    state_key: str | None = None


class _RequiredState(msgspec.Struct, frozen=True):
    include: list[_StateElement] = []
    exclude: list[_StateElement] = []
    lazy_members: bool = False


_Range = tuple[NonNegativeInt, NonNegativeInt]
_WireRequiredState = list[tuple[str, str]] | _RequiredState | None


class _Filters(msgspec.Struct, frozen=True):
    is_dm: bool | None = None
    is_encrypted: bool | None = None
    is_invite: bool | None = None
    is_invited: bool | None = None
    room_types: list[str | None] | None = None
    not_room_types: list[str | None] | None = None
    spaces: list[str] | None = None
    tags: list[str] | None = None
    not_tags: list[str] | None = None


class _RoomConfig(msgspec.Struct, frozen=True):
    timeline_limit: NonNegativeInt = 0
    required_state: _WireRequiredState = None


class _List(_RoomConfig, frozen=True):
    ranges: list[_Range] | None = None
    range: _Range | None = None
    filters: _Filters | None = None


class _Body(msgspec.Struct, frozen=True):
    conn_id: str | None = None
    txn_id: str | None = None
    pos: str | None = None
    timeout: NonNegativeInt | None = None
    set_presence: str | None = None
    lists: dict[str, _List] = {}
    room_subscriptions: dict[str, _RoomConfig] = {}
    extensions: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _ParsedBody:
    """What a body gives whatever the query string: Element X sends the same body on every
    long-poll (its pos and timeout are query parameters), so it is parsed once."""

    wire: _Body
    lists: dict[str, ListRequest]
    subscriptions: dict[str, RoomConfig]
    extensions: dict[str, Mapping[str, Any]]


_PARSED: OrderedDict[bytes, _ParsedBody] = OrderedDict()  # body -> its parse (bodies are equal)
_PARSED_KEPT = 256
_PARSED_LARGEST = 65_536  # bytes; larger bodies are parsed every time


def parse_request(body: bytes, query: Mapping[str, str], *, default: Dialect) -> SlidingSyncRequest:
    """Validate a request: its body (empty counts as {}) and its query string."""
    parsed = _PARSED.get(body)
    if parsed is None:
        parsed = _parse_body(body)
        if len(body) <= _PARSED_LARGEST:
            _PARSED[body] = parsed
            if len(_PARSED) > _PARSED_KEPT:
                _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(body)
    wire = parsed.wire
    timeout = wire.timeout if wire.timeout is not None else query_int(query, "timeout", 0)
    presence = wire.set_presence or query.get("set_presence", "online")
    if presence not in PRESENCE_VALUES:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"set_presence must be one of {PRESENCE_VALUES}"
        )
    return SlidingSyncRequest(
        dialect=_dialect(wire, query, default),
        conn_id=wire.conn_id or "",
        pos=wire.pos or query.get("pos") or None,
        timeout_ms=min(timeout, MAX_TIMEOUT_MS),
        set_presence=presence,
        txn_id=wire.txn_id,
        lists=parsed.lists,
        subscriptions=parsed.subscriptions,
        extensions=parsed.extensions,
    )


def _parse_body(body: bytes) -> _ParsedBody:
    """The body's checks and its lists, subscriptions and enabled extensions."""
    wire = decode_as(body, _Body, what="request body") if body.strip() else _Body()
    if len(wire.lists) > MAX_LISTS:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"at most {MAX_LISTS} lists")
    if len(wire.room_subscriptions) > MAX_SUBSCRIPTIONS:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"at most {MAX_SUBSCRIPTIONS} room subscriptions"
        )
    if len(wire.conn_id or "") > MAX_CONN_ID_LENGTH:
        raise MatrixError(400, Errcode.INVALID_PARAM, "conn_id is too long")
    return _ParsedBody(
        wire,
        {name: _list(name, wired) for name, wired in wire.lists.items()},
        {room_id: _config(sub) for room_id, sub in wire.room_subscriptions.items()},
        {
            name: value
            for name, value in wire.extensions.items()
            if isinstance(value, dict) and value.get("enabled") is True
        },
    )


def _dialect(wire: _Body, query: Mapping[str, str], default: Dialect) -> Dialect:
    configs: list[_RoomConfig] = [*wire.lists.values(), *wire.room_subscriptions.values()]
    if (
        wire.pos is not None
        or wire.timeout is not None
        or any(isinstance(c.required_state, _RequiredState) for c in configs)
        or any(w.range is not None for w in wire.lists.values())
    ):
        return Dialect.MERGED
    if (
        "pos" in query
        or "timeout" in query
        or any(isinstance(c.required_state, list) for c in configs)
        or any(w.ranges is not None for w in wire.lists.values())
    ):
        return Dialect.PRE_MERGE
    return default


def _list(name: str, wire: _List) -> ListRequest:
    ranges: list[_Range] | None = wire.ranges
    if wire.range is not None:
        ranges = [wire.range]
    for start, end in ranges or ():
        if start > end:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"list {name!r}: range [{start}, {end}] is reversed"
            )
    f = wire.filters or _Filters()
    return ListRequest(
        ranges=None if ranges is None else tuple((start, end) for start, end in ranges),
        filters=ListFilters(
            is_dm=f.is_dm,
            is_encrypted=f.is_encrypted,
            is_invite=f.is_invited if f.is_invited is not None else f.is_invite,
            room_types=None if f.room_types is None else tuple(f.room_types),
            not_room_types=tuple(f.not_room_types or ()),
            spaces=None if f.spaces is None else tuple(f.spaces),
            tags=None if f.tags is None else tuple(f.tags),
            not_tags=tuple(f.not_tags or ()),
        ),
        config=_config(wire),
    )


def _config(wire: _RoomConfig) -> RoomConfig:
    excluded: frozenset[StateSelector] = frozenset()
    if isinstance(wire.required_state, _RequiredState):
        excluded = _selectors(wire.required_state.exclude)
    return RoomConfig(
        timeline_limit=min(wire.timeline_limit, MAX_TIMELINE_LIMIT),
        required_state=required_state(wire.required_state),
        excluded=excluded,
    )


def _selectors(elements: list[_StateElement]) -> frozenset[StateSelector]:
    """(type, state_key) of merged-dialect elements; an omitted field is "*"."""
    return frozenset(
        (
            WILDCARD if element.type is None else element.type,
            WILDCARD if element.state_key is None else element.state_key,
        )
        for element in elements
    )


def required_state(wire: _WireRequiredState) -> frozenset[StateSelector]:
    """The (type, state_key) selectors of either dialect's `required_state`: pairs as sent
    (pre-merge), or the merged object's `include` (an omitted field is "*"), with
    `lazy_members` as (m.room.member, $LAZY)."""
    if wire is None:
        return frozenset()
    if isinstance(wire, list):
        return frozenset((event_type, state_key) for event_type, state_key in wire)
    selectors = set(_selectors(wire.include))
    if wire.lazy_members:
        selectors.add((MEMBER, LAZY))
    return frozenset(selectors)


def combine(configs: list[RoomConfig]) -> RoomConfig:
    """MSC4186 "Combining room configs": the largest timeline_limit, the union of the
    required_state selectors ("the result must be the superset of them all": so only what every
    config excludes stays excluded)."""
    if len(configs) == 1:
        return configs[0]
    return RoomConfig(
        timeline_limit=max(c.timeline_limit for c in configs),
        required_state=frozenset().union(*(c.required_state for c in configs)),
        excluded=frozenset.intersection(*(c.excluded for c in configs)),
    )


def expands(new: RoomConfig, old: RoomConfig) -> bool:
    """Whether `new` asks for more than `old` (MSC4186 "Changing room configs")."""
    return new.timeline_limit > old.timeline_limit or not new.required_state <= old.required_state
