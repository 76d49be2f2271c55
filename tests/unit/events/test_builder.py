"""Building signed PDUs (spec: server-server-api#pdus, #signing-events, rooms/v4 event IDs,
rooms/v12 room IDs derived from the create event)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from signedjson.key import generate_signing_key, get_verify_key
from signedjson.sign import SignatureVerifyException, verify_signed_json

from bastion.events.builder import (
    EventDraft,
    Placement,
    ServerIdentity,
    build_pdu,
    room_id_from_create_event_id,
)
from bastion.events.canonical import content_hash, reference_hash_event_id
from bastion.events.redaction import redact

SERVER = "example.org"
ALICE = "@alice:example.org"
ROOM = "!room:example.org"
VERSIONS = ("10", "11", "12")

SIGNING_KEY = generate_signing_key("a_test")
VERIFY_KEY = get_verify_key(SIGNING_KEY)
IDENTITY = ServerIdentity(SERVER, SIGNING_KEY)


def placement(version: str, *, room_id: str | None = ROOM, depth: int = 5) -> Placement:
    return Placement(
        room_id=room_id,
        room_version=version,
        prev_events=["$prev"],
        auth_events=["$create", "$power", "$member"],
        depth=depth,
        origin_server_ts=1_700_000_000_000,
    )


def message_draft(body: str = "hello") -> EventDraft:
    return EventDraft("m.room.message", ALICE, {"msgtype": "m.text", "body": body})


def verify(pdu: dict[str, Any], version: str) -> None:
    verify_signed_json(redact(pdu, version), SERVER, VERIFY_KEY)


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_pdu_fields(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    assert set(pdu) == {
        "auth_events", "content", "depth", "origin_server_ts", "prev_events", "sender", "type",
        "room_id", "hashes", "signatures",
    }  # fmt: skip
    assert pdu["room_id"] == ROOM
    assert pdu["sender"] == ALICE
    assert pdu["type"] == "m.room.message"
    assert pdu["depth"] == 5
    assert pdu["prev_events"] == ["$prev"]
    assert pdu["auth_events"] == ["$create", "$power", "$member"]
    assert pdu["origin_server_ts"] == 1_700_000_000_000
    assert "event_id" not in pdu  # v4+ event IDs are not part of the event
    assert "state_key" not in pdu


def test_state_event_keeps_empty_state_key(version: str) -> None:
    draft = EventDraft("m.room.topic", ALICE, {"topic": "t"}, state_key="")
    _, pdu = build_pdu(draft, placement(version), IDENTITY)
    assert pdu["state_key"] == ""


def test_hashes_sha256_is_the_content_hash(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    assert pdu["hashes"] == {"sha256": content_hash(pdu)}


def test_signature_verifies_over_the_redacted_event(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    assert set(pdu["signatures"]) == {SERVER}
    assert set(pdu["signatures"][SERVER]) == {"ed25519:a_test"}
    verify(pdu, version)


def test_signature_is_not_over_the_full_event(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    with pytest.raises(SignatureVerifyException):
        verify_signed_json(copy.deepcopy(pdu), SERVER, VERIFY_KEY)


def test_event_id_is_reference_hash_of_redacted_pdu(version: str) -> None:
    event_id, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    assert re.fullmatch(r"\$[A-Za-z0-9_-]{43}", event_id)
    assert event_id == reference_hash_event_id(redact(pdu, version))


def test_build_is_deterministic(version: str) -> None:
    first = build_pdu(message_draft(), placement(version), IDENTITY)
    second = build_pdu(message_draft(), placement(version), IDENTITY)
    assert first == second


def test_different_content_gives_different_event_id(version: str) -> None:
    one, _ = build_pdu(message_draft("one"), placement(version), IDENTITY)
    two, _ = build_pdu(message_draft("two"), placement(version), IDENTITY)
    assert one != two


def test_redacting_keeps_signature_and_event_id_valid(version: str) -> None:
    event_id, pdu = build_pdu(message_draft("secret"), placement(version), IDENTITY)
    redacted = redact(pdu, version)
    assert redacted["content"] == {}
    verify_signed_json(copy.deepcopy(redacted), SERVER, VERIFY_KEY)
    verify(redacted, version)
    assert reference_hash_event_id(redact(redacted, version)) == event_id
    # the content hash no longer matches: that is how receivers know it was redacted
    assert content_hash(redacted) != redacted["hashes"]["sha256"]


def test_tampering_with_preserved_field_breaks_signature(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    tampered = {**copy.deepcopy(pdu), "depth": 6}
    with pytest.raises(SignatureVerifyException):
        verify(tampered, version)


def test_tampering_with_content_breaks_content_hash_only(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    tampered = copy.deepcopy(pdu)
    tampered["content"]["body"] = "edited"
    verify(tampered, version)  # the signature covers only the redacted form
    assert content_hash(tampered) != tampered["hashes"]["sha256"]


def test_other_key_does_not_verify(version: str) -> None:
    _, pdu = build_pdu(message_draft(), placement(version), IDENTITY)
    other = get_verify_key(generate_signing_key("a_test"))
    with pytest.raises(SignatureVerifyException):
        verify_signed_json(redact(pdu, version), SERVER, other)


def test_draft_content_is_not_mutated(version: str) -> None:
    draft = message_draft()
    before = copy.deepcopy(draft.content)
    build_pdu(draft, placement(version), IDENTITY)
    assert draft.content == before


def create_draft(version: str) -> EventDraft:
    content: dict[str, Any] = {"room_version": version}
    if version == "10":
        content["creator"] = ALICE
    return EventDraft("m.room.create", ALICE, content, state_key="")


def test_v12_create_event_has_no_room_id() -> None:
    create_placement = Placement(None, "12", [], [], 1, 1_700_000_000_000)
    event_id, pdu = build_pdu(create_draft("12"), create_placement, IDENTITY)
    assert "room_id" not in pdu
    assert pdu["prev_events"] == []
    assert pdu["auth_events"] == []
    verify(pdu, "12")
    room_id = room_id_from_create_event_id(event_id)
    assert room_id == "!" + event_id[1:]
    assert re.fullmatch(r"![A-Za-z0-9_-]{43}", room_id)


def test_v12_room_id_depends_on_create_event() -> None:
    one, _ = build_pdu(create_draft("12"), Placement(None, "12", [], [], 1, 1), IDENTITY)
    two, _ = build_pdu(create_draft("12"), Placement(None, "12", [], [], 1, 2), IDENTITY)
    assert room_id_from_create_event_id(one) != room_id_from_create_event_id(two)


@pytest.mark.parametrize("room_version", ["10", "11"])
def test_pre_v12_create_event_has_room_id(room_version: str) -> None:
    create_placement = Placement(ROOM, room_version, [], [], 1, 1_700_000_000_000)
    event_id, pdu = build_pdu(create_draft(room_version), create_placement, IDENTITY)
    assert pdu["room_id"] == ROOM
    verify(pdu, room_version)
    assert event_id == reference_hash_event_id(redact(pdu, room_version))


def test_room_id_from_create_event_id_swaps_sigil() -> None:
    assert room_id_from_create_event_id("$abc-_XYZ") == "!abc-_XYZ"


@pytest.mark.parametrize("room_version", ["11", "12"])
def test_create_event_content_survives_redaction(room_version: str) -> None:
    """v11+ keep the whole create content, so the room ID commits to all of it."""
    draft = EventDraft(
        "m.room.create", ALICE, {"room_version": room_version, "type": "m.space"}, state_key=""
    )
    _, pdu = build_pdu(draft, Placement(None, room_version, [], [], 1, 1), IDENTITY)
    assert redact(pdu, room_version)["content"] == draft.content
