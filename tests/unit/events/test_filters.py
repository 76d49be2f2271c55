"""Event filters (spec: client-server-api#filtering, definitions/event_filter.yaml and
room_event_filter.yaml)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from bastion.events.filters import (
    MAX_LIMIT,
    EventFilter,
    FilterDefinition,
    RoomEventFilter,
    effective_limit,
    event_matches,
    room_allowed,
    type_and_sender_match,
)
from bastion.events.model import StoredEvent

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!room:example.org"
OTHER_ROOM = "!other:example.org"


def stored(
    event_type: str = "m.room.message",
    *,
    sender: str = ALICE,
    room_id: str = ROOM,
    content: dict[str, Any] | None = None,
) -> StoredEvent:
    return StoredEvent(
        stream_ordering=1,
        event_id="$e",
        room_id=room_id,
        type=event_type,
        sender=sender,
        content={"body": "x"} if content is None else content,
        origin_server_ts=1,
        depth=1,
    )


# --- types ---------------------------------------------------------------------------------------


def test_empty_filter_matches_everything() -> None:
    assert type_and_sender_match(EventFilter(), "anything", ALICE)
    assert event_matches(RoomEventFilter(), stored())


@pytest.mark.parametrize(
    ("pattern", "event_type", "matches"),
    [
        ("m.room.*", "m.room.message", True),
        ("m.room.*", "m.room.member", True),
        ("m.room.*", "m.reaction", False),
        ("m.room.*", "m.room", False),
        ("*", "org.example.anything", True),
        ("m.*.message", "m.room.message", True),
        ("*.message", "m.room.member", False),
        ("m.room.message", "m.room.message", True),
        ("m.room.message", "m.room.messages", False),
        ("m.room.message", "M.ROOM.MESSAGE", False),
    ],
)
def test_type_wildcards(pattern: str, event_type: str, matches: bool) -> None:
    assert type_and_sender_match(EventFilter(types=[pattern]), event_type, ALICE) is matches


def test_types_list_is_any_of() -> None:
    f = EventFilter(types=["m.room.message", "m.reaction"])
    assert type_and_sender_match(f, "m.reaction", ALICE)
    assert not type_and_sender_match(f, "m.room.topic", ALICE)


def test_empty_types_list_matches_nothing() -> None:
    assert not type_and_sender_match(EventFilter(types=[]), "m.room.message", ALICE)


def test_not_types_excludes_with_wildcards() -> None:
    f = EventFilter(not_types=["m.room.*"])
    assert not type_and_sender_match(f, "m.room.message", ALICE)
    assert type_and_sender_match(f, "m.reaction", ALICE)


@pytest.mark.parametrize("not_types", [["m.room.message"], ["m.room.*"], ["*"]])
def test_not_types_wins_over_types(not_types: list[str]) -> None:
    f = EventFilter(types=["m.room.message", "m.room.*"], not_types=not_types)
    assert not type_and_sender_match(f, "m.room.message", ALICE)


@pytest.mark.parametrize("pattern", ["m.room.messag?", "m.room.[m]essage"])
def test_only_star_is_a_wildcard(pattern: str) -> None:
    assert not type_and_sender_match(EventFilter(types=[pattern]), "m.room.message", ALICE)


# --- senders -------------------------------------------------------------------------------------


def test_senders_include_only_listed() -> None:
    f = EventFilter(senders=[ALICE])
    assert type_and_sender_match(f, "m.room.message", ALICE)
    assert not type_and_sender_match(f, "m.room.message", BOB)


def test_not_senders_exclude() -> None:
    f = EventFilter(not_senders=[BOB])
    assert type_and_sender_match(f, "m.room.message", ALICE)
    assert not type_and_sender_match(f, "m.room.message", BOB)


def test_not_senders_wins_over_senders() -> None:
    f = EventFilter(senders=[ALICE, BOB], not_senders=[BOB])
    assert not type_and_sender_match(f, "m.room.message", BOB)
    assert type_and_sender_match(f, "m.room.message", ALICE)


def test_event_without_sender_passes_sender_lists() -> None:
    f = EventFilter(senders=[ALICE], not_senders=[BOB])
    assert type_and_sender_match(f, "m.push_rules", None)


def test_senders_and_types_both_apply() -> None:
    f = RoomEventFilter(types=["m.room.message"], senders=[ALICE])
    assert event_matches(f, stored())
    assert not event_matches(f, stored(sender=BOB))
    assert not event_matches(f, stored("m.room.topic"))


# --- rooms ---------------------------------------------------------------------------------------


def test_rooms_include_only_listed() -> None:
    f = RoomEventFilter(rooms=[ROOM])
    assert event_matches(f, stored())
    assert not event_matches(f, stored(room_id=OTHER_ROOM))


def test_not_rooms_exclude_and_win_over_rooms() -> None:
    f = RoomEventFilter(rooms=[ROOM, OTHER_ROOM], not_rooms=[OTHER_ROOM])
    assert event_matches(f, stored())
    assert not event_matches(f, stored(room_id=OTHER_ROOM))


def test_room_allowed() -> None:
    assert room_allowed(None, [], ROOM)
    assert room_allowed([ROOM], [], ROOM)
    assert not room_allowed([ROOM], [], OTHER_ROOM)
    assert not room_allowed(None, [ROOM], ROOM)
    assert not room_allowed([ROOM], [ROOM], ROOM)
    assert not room_allowed([], [], ROOM)


# --- contains_url --------------------------------------------------------------------------------

WITH_URL = {"msgtype": "m.image", "body": "cat.png", "url": "mxc://example.org/abc"}
WITHOUT_URL = {"msgtype": "m.text", "body": "hi"}


def test_contains_url_true_keeps_only_events_with_url() -> None:
    f = RoomEventFilter(contains_url=True)
    assert event_matches(f, stored(content=WITH_URL))
    assert not event_matches(f, stored(content=WITHOUT_URL))


def test_contains_url_false_drops_events_with_url() -> None:
    f = RoomEventFilter(contains_url=False)
    assert not event_matches(f, stored(content=WITH_URL))
    assert event_matches(f, stored(content=WITHOUT_URL))


def test_contains_url_absent_ignores_url() -> None:
    f = RoomEventFilter()
    assert event_matches(f, stored(content=WITH_URL))
    assert event_matches(f, stored(content=WITHOUT_URL))


# --- effective_limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, 10),
        (1, 1),
        (50, 50),
        (MAX_LIMIT, MAX_LIMIT),
        (MAX_LIMIT + 1, MAX_LIMIT),
        (10**9, MAX_LIMIT),
        (0, 1),
        (-5, 1),
    ],
)
def test_effective_limit_clamps(requested: int | None, expected: int) -> None:
    assert effective_limit(requested, 10) == expected


# --- decoding with msgspec -----------------------------------------------------------------------


def decode(raw: dict[str, Any]) -> FilterDefinition:
    return msgspec.json.decode(msgspec.json.encode(raw), type=FilterDefinition)


def test_decode_empty_filter_gives_defaults() -> None:
    f = decode({})
    assert f == FilterDefinition()
    assert f.event_format == "client"
    assert f.room.timeline == RoomEventFilter()
    assert f.room.include_leave is False


def test_decode_full_filter() -> None:
    f = decode(
        {
            "event_fields": ["type", "content.body"],
            "event_format": "federation",
            "presence": {"not_types": ["*"]},
            "account_data": {"types": ["m.push_rules"], "limit": 5},
            "room": {
                "rooms": [ROOM],
                "not_rooms": [OTHER_ROOM],
                "include_leave": True,
                "timeline": {
                    "limit": 20,
                    "types": ["m.room.*"],
                    "not_senders": [BOB],
                    "contains_url": True,
                    "lazy_load_members": True,
                },
                "state": {"lazy_load_members": True, "include_redundant_members": True},
                "ephemeral": {"not_types": ["m.typing"]},
                "account_data": {"senders": [ALICE]},
            },
        }
    )
    assert f.event_fields == ["type", "content.body"]
    assert f.event_format == "federation"
    assert f.presence.not_types == ["*"]
    assert f.account_data == EventFilter(limit=5, types=["m.push_rules"])
    assert f.room.rooms == [ROOM]
    assert f.room.not_rooms == [OTHER_ROOM]
    assert f.room.include_leave is True
    assert f.room.timeline.limit == 20
    assert f.room.timeline.types == ["m.room.*"]
    assert f.room.timeline.not_senders == [BOB]
    assert f.room.timeline.contains_url is True
    assert f.room.timeline.lazy_load_members is True
    assert f.room.state.include_redundant_members is True
    assert f.room.ephemeral.not_types == ["m.typing"]
    assert f.room.account_data.senders == [ALICE]


def test_decode_ignores_unknown_fields_at_every_level() -> None:
    f = decode(
        {
            "org.example.future": {"x": 1},
            "presence": {"org.example.unknown": True},
            "room": {"unknown": [1, 2], "timeline": {"limit": 3, "org.example.x": "y"}},
        }
    )
    assert f.room.timeline.limit == 3
    assert f.presence == EventFilter()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"room": {"timeline": {"limit": "10"}}}, id="string-limit"),
        pytest.param({"room": {"timeline": {"limit": 1.5}}}, id="float-limit"),
        pytest.param({"room": {"timeline": {"types": "m.room.message"}}}, id="types-string"),
        pytest.param({"room": {"timeline": {"types": [1]}}}, id="types-int-item"),
        pytest.param({"room": {"timeline": {"contains_url": "yes"}}}, id="contains-url-string"),
        pytest.param({"room": {"rooms": ROOM}}, id="rooms-string"),
        pytest.param({"room": {"include_leave": 1}}, id="include-leave-int"),
        pytest.param({"room": []}, id="room-list"),
        pytest.param({"presence": "none"}, id="presence-string"),
        pytest.param({"event_format": 1}, id="event-format-int"),
        pytest.param({"event_fields": "type"}, id="event-fields-string"),
    ],
)
def test_decode_refuses_wrong_types(raw: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        decode(raw)


def test_decode_refuses_non_object() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b"[]", type=FilterDefinition)
