"""Events in the client format (spec: client-server-api#room-event-format, #redactions,
#stripped-state)."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from bastion.events.model import StoredEvent, StrippedState
from bastion.events.serialize import client_event, stripped_state

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!room:example.org"
TS = 1_700_000_000_000


def stored(
    event_type: str = "m.room.message",
    content: dict[str, Any] | None = None,
    **fields: Any,
) -> StoredEvent:
    values: dict[str, Any] = {
        "stream_ordering": 7,
        "event_id": "$event",
        "room_id": ROOM,
        "type": event_type,
        "sender": ALICE,
        "content": {"msgtype": "m.text", "body": "hello"} if content is None else content,
        "origin_server_ts": TS,
        "depth": 3,
    }
    values.update(fields)
    return StoredEvent(**values)


REDACTION = {
    "content": {"redacts": "$event", "reason": "spam"},
    "event_id": "$redaction",
    "origin_server_ts": TS + 10,
    "room_id": ROOM,
    "sender": BOB,
    "type": "m.room.redaction",
    "redacts": "$event",
    "unsigned": {"age": 5},
}


def test_plain_event_fields() -> None:
    out = client_event(stored(), room_version="11", now_ms=TS + 1234)
    assert out == {
        "content": {"msgtype": "m.text", "body": "hello"},
        "event_id": "$event",
        "origin_server_ts": TS,
        "room_id": ROOM,
        "sender": ALICE,
        "type": "m.room.message",
        "unsigned": {"age": 1234},
    }


def test_state_event_has_state_key_even_when_empty() -> None:
    event = stored("m.room.topic", {"topic": "t"}, state_key="")
    out = client_event(event, room_version="11", now_ms=TS)
    assert out["state_key"] == ""


def test_age_is_never_negative() -> None:
    out = client_event(stored(), room_version="11", now_ms=TS - 60_000)
    assert out["unsigned"]["age"] == 0
    assert client_event(stored(), room_version="11", now_ms=TS)["unsigned"]["age"] == 0


# --- redaction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_redacted_message_shows_empty_content_and_redacted_because(version: str) -> None:
    event = stored(redacted_by="$redaction")
    out = client_event(event, room_version=version, now_ms=TS, redaction=REDACTION)
    assert out["content"] == {}
    assert out["unsigned"]["redacted_because"] == REDACTION
    assert event.content == {"msgtype": "m.text", "body": "hello"}  # the stored original stays


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_redacted_member_keeps_membership(version: str) -> None:
    content = {"membership": "join", "displayname": "Alice", "avatar_url": "mxc://x/y"}
    event = stored("m.room.member", content, state_key=ALICE, redacted_by="$r")
    out = client_event(event, room_version=version, now_ms=TS, redaction=REDACTION)
    assert out["content"] == {"membership": "join"}
    assert out["state_key"] == ALICE


def test_redacted_power_levels_follow_the_room_version() -> None:
    content = {"ban": 50, "invite": 0, "notifications": {"room": 50}}
    event = stored("m.room.power_levels", content, state_key="", redacted_by="$r")
    assert client_event(event, room_version="10", now_ms=TS)["content"] == {"ban": 50}
    assert client_event(event, room_version="11", now_ms=TS)["content"] == {
        "ban": 50,
        "invite": 0,
    }


def test_redacted_create_follows_the_room_version() -> None:
    content = {"creator": ALICE, "room_version": "10", "m.federate": True}
    event = stored("m.room.create", content, state_key="", redacted_by="$r")
    assert client_event(event, room_version="10", now_ms=TS)["content"] == {"creator": ALICE}
    assert client_event(event, room_version="11", now_ms=TS)["content"] == content


def test_unredacted_event_keeps_content_and_has_no_redacted_because() -> None:
    out = client_event(stored(), room_version="11", now_ms=TS)
    assert out["content"]["body"] == "hello"
    assert "redacted_because" not in out["unsigned"]


def test_redacted_event_without_redaction_form_has_no_redacted_because() -> None:
    out = client_event(stored(redacted_by="$r"), room_version="11", now_ms=TS)
    assert out["content"] == {}
    assert "redacted_because" not in out["unsigned"]


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_redaction_event_shows_redacts_at_top_level_and_in_content(version: str) -> None:
    event = stored("m.room.redaction", {"redacts": "$target", "reason": "spam"})
    out = client_event(event, room_version=version, now_ms=TS)
    assert out["redacts"] == "$target"
    assert out["content"]["redacts"] == "$target"


@pytest.mark.parametrize("version", ["11", "12"])
def test_redacted_v11_redaction_event_keeps_redacts(version: str) -> None:
    event = stored("m.room.redaction", {"redacts": "$target", "reason": "x"}, redacted_by="$r")
    out = client_event(event, room_version=version, now_ms=TS)
    assert out["content"] == {"redacts": "$target"}
    assert out["redacts"] == "$target"


def test_redacted_v10_redaction_event_hides_redacts() -> None:
    event = stored("m.room.redaction", {"redacts": "$target", "reason": "x"}, redacted_by="$r")
    out = client_event(event, room_version="10", now_ms=TS)
    assert out["content"] == {}
    assert "redacts" not in out


def test_non_redaction_event_has_no_top_level_redacts() -> None:
    out = client_event(stored(content={"body": "x", "redacts": "$y"}), room_version="11", now_ms=TS)
    assert "redacts" not in out


# --- transaction_id ------------------------------------------------------------------------------


def sent_with_txn() -> StoredEvent:
    return stored(sender_device="DEVICE", txn_id="txn1")


def test_transaction_id_shown_to_the_sending_device() -> None:
    out = client_event(
        sent_with_txn(), room_version="11", now_ms=TS, viewer_device=(ALICE, "DEVICE")
    )
    assert out["unsigned"]["transaction_id"] == "txn1"


@pytest.mark.parametrize(
    "viewer",
    [(ALICE, "OTHER"), (BOB, "DEVICE"), None],
    ids=["same-user-other-device", "other-user-same-device-id", "no-viewer"],
)
def test_transaction_id_hidden_from_anyone_else(viewer: tuple[str, str] | None) -> None:
    out = client_event(sent_with_txn(), room_version="11", now_ms=TS, viewer_device=viewer)
    assert "transaction_id" not in out["unsigned"]


def test_no_transaction_id_without_txn() -> None:
    event = stored(sender_device="DEVICE")
    out = client_event(event, room_version="11", now_ms=TS, viewer_device=(ALICE, "DEVICE"))
    assert "transaction_id" not in out["unsigned"]


# --- prev_content and replaces_state -------------------------------------------------------------


def test_prev_content_and_replaces_state() -> None:
    event = stored(
        "m.room.topic",
        {"topic": "new"},
        state_key="",
        prev_content={"topic": "old"},
        prev_sender=BOB,
        replaces_state="$old",
    )
    unsigned = client_event(event, room_version="11", now_ms=TS)["unsigned"]
    assert unsigned["prev_content"] == {"topic": "old"}
    assert unsigned["prev_sender"] == BOB
    assert unsigned["replaces_state"] == "$old"


def test_first_state_event_has_no_prev_content() -> None:
    event = stored("m.room.topic", {"topic": "new"}, state_key="")
    unsigned = client_event(event, room_version="11", now_ms=TS)["unsigned"]
    assert "prev_content" not in unsigned
    assert "prev_sender" not in unsigned
    assert "replaces_state" not in unsigned


def test_client_event_does_not_mutate_stored_content() -> None:
    content = {"membership": "join", "displayname": "A"}
    event = stored("m.room.member", copy.deepcopy(content), state_key=ALICE, redacted_by="$r")
    client_event(event, room_version="11", now_ms=TS)
    assert event.content == content


# --- stripped state ------------------------------------------------------------------------------


def test_stripped_state_keeps_type_state_key_content_sender() -> None:
    event = stored("m.room.name", {"name": "Room"}, state_key="", prev_content={"name": "Old"})
    stripped = stripped_state(event)
    assert stripped == StrippedState(
        type="m.room.name", state_key="", content={"name": "Room"}, sender=ALICE
    )
    assert msgspec.json.decode(msgspec.json.encode(stripped)) == {
        "type": "m.room.name",
        "state_key": "",
        "content": {"name": "Room"},
        "sender": ALICE,
    }


def test_stripped_state_needs_a_state_event() -> None:
    with pytest.raises(AssertionError):
        stripped_state(stored())


# --- StoredEvent helpers -------------------------------------------------------------------------


def test_stored_event_is_state_and_membership() -> None:
    member_event = stored("m.room.member", {"membership": "invite"}, state_key=BOB)
    assert member_event.is_state
    assert member_event.membership == "invite"
    assert not stored().is_state
    assert stored().membership is None
    assert stored("m.room.member", {"membership": 5}, state_key=BOB).membership is None
    assert stored("m.room.topic", {"membership": "join"}, state_key="").membership is None
