"""Power levels and room creators (spec: client-server-api#mroompower_levels, rooms/v12)."""

from __future__ import annotations

import math

import pytest

from bastion.events.power_levels import INFINITE, PowerLevels, creators_of

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
CAROL = "@carol:example.org"


# --- creators_of ---------------------------------------------------------------------------------


def test_v10_creator_is_content_creator() -> None:
    assert creators_of(BOB, {"creator": ALICE}, "10") == {ALICE}


@pytest.mark.parametrize("content", [{}, {"creator": 42}, {"creator": None}])
def test_v10_creator_falls_back_to_sender(content: dict[str, object]) -> None:
    assert creators_of(ALICE, content, "10") == {ALICE}


def test_v10_ignores_additional_creators() -> None:
    assert creators_of(ALICE, {"creator": ALICE, "additional_creators": [BOB]}, "10") == {ALICE}


def test_v11_creator_is_sender_only() -> None:
    content = {"creator": BOB, "additional_creators": [CAROL]}
    assert creators_of(ALICE, content, "11") == {ALICE}


def test_v12_creators_are_sender_and_additional_creators() -> None:
    assert creators_of(ALICE, {"additional_creators": [BOB, CAROL]}, "12") == {ALICE, BOB, CAROL}
    assert creators_of(ALICE, {}, "12") == {ALICE}
    assert creators_of(ALICE, {"creator": BOB}, "12") == {ALICE}


@pytest.mark.parametrize("extra", [BOB, {"u": BOB}, None, [42, None]])
def test_v12_malformed_additional_creators_are_ignored(extra: object) -> None:
    assert creators_of(ALICE, {"additional_creators": extra}, "12") == {ALICE}


def test_v12_non_string_additional_creators_are_skipped() -> None:
    assert creators_of(ALICE, {"additional_creators": [BOB, 7]}, "12") == {ALICE, BOB}


def test_creators_of_returns_frozenset() -> None:
    assert isinstance(creators_of(ALICE, {}, "12"), frozenset)


# --- defaults ------------------------------------------------------------------------------------


def test_dataclass_defaults_match_the_spec() -> None:
    power = PowerLevels()
    assert power.users == {}
    assert power.users_default == 0
    assert power.events == {}
    assert power.events_default == 0
    assert power.state_default == 50
    assert (power.ban, power.kick, power.redact) == (50, 50, 50)
    assert power.invite == 0
    assert power.notification_level() == 50


@pytest.mark.parametrize("version", ["10", "11"])
def test_no_power_levels_event_gives_creator_100(version: str) -> None:
    power = PowerLevels.from_state(None, frozenset({ALICE}), version)
    assert power.user_level(ALICE) == 100
    assert power.user_level(BOB) == 0
    assert power.state_default == 0
    assert power.event_level("m.room.topic", is_state=True) == 0
    assert power.event_level("m.room.message", is_state=False) == 0
    assert (power.ban, power.kick, power.redact, power.invite) == (50, 50, 50, 0)
    assert not power.infinite_creators


def test_v12_no_power_levels_event_gives_creators_infinite_power() -> None:
    power = PowerLevels.from_state(None, frozenset({ALICE, BOB}), "12")
    assert power.users == {}
    assert power.user_level(ALICE) == INFINITE
    assert power.user_level(BOB) == math.inf
    assert power.user_level(CAROL) == 0
    assert power.state_default == 0


def test_empty_power_levels_event_uses_spec_defaults() -> None:
    power = PowerLevels.from_state({}, frozenset({ALICE}), "11")
    assert power.state_default == 50
    assert power.events_default == 0
    assert power.users_default == 0
    assert (power.ban, power.kick, power.redact, power.invite) == (50, 50, 50, 0)
    assert power.user_level(ALICE) == 0  # once power levels exist, the creator is not special
    assert power.notification_level() == 50


# --- from_state parsing --------------------------------------------------------------------------


def full_content() -> dict[str, object]:
    return {
        "users": {ALICE: 100, BOB: 50},
        "users_default": 5,
        "events": {"m.room.name": 40, "m.room.power_levels": 100},
        "events_default": 10,
        "state_default": 60,
        "ban": 70,
        "kick": 65,
        "redact": 55,
        "invite": 20,
        "notifications": {"room": 30},
    }


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_from_state_reads_every_field(version: str) -> None:
    creators = frozenset({CAROL})
    power = PowerLevels.from_state(full_content(), creators, version)
    assert power.users == {ALICE: 100, BOB: 50}
    assert power.users_default == 5
    assert power.events == {"m.room.name": 40, "m.room.power_levels": 100}
    assert power.events_default == 10
    assert power.state_default == 60
    assert (power.ban, power.kick, power.redact, power.invite) == (70, 65, 55, 20)
    assert power.notification_level("room") == 30
    assert power.creators == creators
    assert power.infinite_creators is (version == "12")


@pytest.mark.parametrize("bad", ["50", 50.5, True, None, [1], {"a": 1}])
def test_from_state_ignores_non_integer_levels(bad: object) -> None:
    keys = ("users_default", "events_default", "state_default", "ban", "kick", "redact", "invite")
    content = dict.fromkeys(keys, bad)
    power = PowerLevels.from_state(content, frozenset(), "11")
    assert power == PowerLevels.from_state({}, frozenset(), "11")


def test_from_state_drops_non_integer_map_entries() -> None:
    content = {
        "users": {ALICE: 100, BOB: "50", CAROL: True},
        "events": {"m.room.name": 40, "m.room.topic": 1.5},
        "notifications": {"room": None},
    }
    power = PowerLevels.from_state(content, frozenset(), "11")
    assert power.users == {ALICE: 100}
    assert power.events == {"m.room.name": 40}
    assert power.notifications == {}


@pytest.mark.parametrize("bad", ["users", [ALICE], 7, None])
def test_from_state_ignores_non_object_maps(bad: object) -> None:
    power = PowerLevels.from_state({"users": bad, "events": bad}, frozenset(), "11")
    assert power.users == {}
    assert power.events == {}


def test_v12_listed_creator_is_still_infinite() -> None:
    power = PowerLevels.from_state({"users": {ALICE: 0}}, frozenset({ALICE}), "12")
    assert power.user_level(ALICE) == INFINITE


@pytest.mark.parametrize("version", ["10", "11"])
def test_creator_uses_listed_level_when_power_levels_exist(version: str) -> None:
    power = PowerLevels.from_state({"users": {ALICE: 20}}, frozenset({ALICE}), version)
    assert power.user_level(ALICE) == 20


# --- user_level and event_level ------------------------------------------------------------------


def test_user_level_uses_users_then_users_default() -> None:
    power = PowerLevels.from_state(full_content(), frozenset(), "11")
    assert power.user_level(ALICE) == 100
    assert power.user_level(BOB) == 50
    assert power.user_level(CAROL) == 5


def test_infinite_level_ranks_above_every_integer() -> None:
    power = PowerLevels.from_state({"users": {BOB: 2**53 - 1}}, frozenset({ALICE}), "12")
    assert power.user_level(ALICE) > power.user_level(BOB)


def test_event_level_from_events_map_wins_over_defaults() -> None:
    power = PowerLevels.from_state(full_content(), frozenset(), "11")
    assert power.event_level("m.room.name", is_state=True) == 40
    assert power.event_level("m.room.name", is_state=False) == 40
    assert power.event_level("m.room.power_levels", is_state=True) == 100


def test_event_level_falls_back_to_state_or_events_default() -> None:
    power = PowerLevels.from_state(full_content(), frozenset(), "11")
    assert power.event_level("m.room.topic", is_state=True) == 60
    assert power.event_level("m.room.message", is_state=False) == 10


def test_notification_level_defaults_to_50_for_unknown_keys() -> None:
    power = PowerLevels.from_state(full_content(), frozenset(), "11")
    assert power.notification_level("room") == 30
    assert power.notification_level("other") == 50
