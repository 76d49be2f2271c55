"""Canonical JSON, hashes, event IDs and signatures (spec: appendices#canonical-json,
appendices#cryptographic-test-vectors, server-server-api hashes, rooms/v4 event IDs)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from typing import Any

import pytest
from signedjson.key import decode_signing_key_base64

from bastion.errors import Errcode, MatrixError
from bastion.events.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    canonical_pdu_json,
    check_json_values,
    content_hash,
    reference_hash_event_id,
    sign_redacted,
    unpadded_base64,
)
from bastion.events.redaction import redact

# --- canonical_json: the spec's appendix examples ------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("{}", "{}", id="empty"),
        pytest.param('{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}', id="simple"),
        pytest.param('{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}', id="key-order"),
        pytest.param('{"b":"2","a":"1"}', '{"a":"1","b":"2"}', id="compact-key-order"),
        pytest.param(
            """{
                "auth": {
                    "success": true,
                    "mxid": "@john.doe:example.com",
                    "profile": {
                        "display_name": "John Doe",
                        "three_pids": [
                            {"medium": "email", "address": "john.doe@example.org"},
                            {"medium": "msisdn", "address": "123456789"}
                        ]
                    }
                }
            }""",
            '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
            '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
            '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
            id="nested",
        ),
        pytest.param('{\n    "a": "日本語"\n}', '{"a":"日本語"}', id="non-ascii-value"),
        pytest.param('{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}', id="non-ascii-keys"),
        pytest.param('{\n    "a": "\\u65E5"\n}', '{"a":"日"}', id="unicode-escape"),
        pytest.param('{\n    "a": null\n}', '{"a":null}', id="null"),
    ],
)
def test_canonical_json_appendix_examples(given: str, expected: str) -> None:
    assert canonical_json(json.loads(given)) == expected.encode("utf-8")
    assert canonical_pdu_json(json.loads(given)) == expected.encode("utf-8")


def test_canonical_pdu_json_writes_the_same_bytes_for_every_character() -> None:
    """appendices#canonical-json: "The JSON text is encoded as UTF-8", keys sorted by code
    point, control characters escaped: the fast encoder of PDUs agrees with the reference
    one on every character up to U+0800 and on astral ones, in keys and values."""
    chars = [chr(c) for c in range(0x800) if not 0xD800 <= c < 0xE000]
    chars += ["\u2028", "\u2029", "\uffff", "\U0001f600", "\U0010ffff"]
    for start in range(0, len(chars), 16):
        chunk = "".join(chars[start : start + 16])
        value = {
            chunk: chunk,
            chunk[::-1]: [chunk, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, True, None],
        }
        assert canonical_pdu_json(value) == canonical_json(value)


def test_canonical_json_is_utf8_bytes_not_ascii_escapes() -> None:
    encoded = canonical_json({"a": "日本語"})
    assert isinstance(encoded, bytes)
    assert "日本語".encode() in encoded
    assert b"\\u" not in encoded


def test_canonical_json_escapes_control_characters() -> None:
    assert canonical_json({"a": '\n\t"\\\x01\x1f'}) == b'{"a":"\\n\\t\\"\\\\\\u0001\\u001f"}'


def test_canonical_json_sorts_by_code_point() -> None:
    assert canonical_json({"b": 1, "B": 2, "a": 3, "é": 4}) == '{"B":2,"a":3,"b":1,"é":4}'.encode()


def test_canonical_json_negative_zero_is_zero() -> None:
    assert canonical_json(json.loads('{"a": -0}')) == b'{"a":0}'


# --- check_json_values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="bool"),
        pytest.param(False, id="false"),
        pytest.param(None, id="null"),
        pytest.param("text", id="string"),
        pytest.param(0, id="zero"),
        pytest.param(MAX_SAFE_INTEGER, id="max"),
        pytest.param(-MAX_SAFE_INTEGER, id="min"),
        pytest.param([], id="empty-list"),
        pytest.param({}, id="empty-object"),
        pytest.param({"a": [1, {"b": None, "c": [True, "x", {"d": -(2**53) + 1}]}]}, id="nested"),
    ],
)
def test_check_json_values_accepts_canonical_values(value: object) -> None:
    check_json_values(value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        pytest.param(1.0, "content", id="float"),
        pytest.param(float("nan"), "content", id="nan"),
        pytest.param({"a": 0.5}, "content.a", id="nested-float"),
        pytest.param({"a": [1, 2, 3.5]}, r"content.a\[2\]", id="float-in-list"),
        pytest.param(MAX_SAFE_INTEGER + 1, "content", id="too-big"),
        pytest.param(-MAX_SAFE_INTEGER - 1, "content", id="too-small"),
        pytest.param({"x": {"y": 2**64}}, "content.x.y", id="nested-too-big"),
        pytest.param({"a": b"bytes"}, "content.a", id="bytes"),
        pytest.param({"a": (1, 2)}, "content.a", id="tuple"),
        pytest.param({"a": {1, 2}}, "content.a", id="set"),
    ],
)
def test_check_json_values_refuses_non_canonical_values(value: object, path: str) -> None:
    with pytest.raises(MatrixError, match=f"^{path}: ") as caught:
        check_json_values(value)
    assert caught.value.status == 400
    assert caught.value.errcode == Errcode.BAD_JSON


def test_check_json_values_uses_given_path() -> None:
    with pytest.raises(MatrixError, match=r"^body\.x: floats"):
        check_json_values({"x": 1.5}, "body")


# --- unpadded_base64 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"),
        (b"foobar", "Zm9vYmFy"),
    ],
)
def test_unpadded_base64_rfc4648_vectors(data: bytes, expected: str) -> None:
    assert unpadded_base64(data) == expected


def test_unpadded_base64_standard_and_urlsafe_alphabets() -> None:
    data = bytes([0xFB, 0xFF, 0xBF])
    assert unpadded_base64(data) == "+/+/"
    assert unpadded_base64(data, urlsafe=True) == "-_-_"


# --- content_hash --------------------------------------------------------------------------------

# appendices#event-signing
MINIMAL_EVENT: dict[str, Any] = {
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {"age_ts": 1000000},
}
MESSAGE_EVENT: dict[str, Any] = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {},
    "unsigned": {"age_ts": 1000000},
}
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (MINIMAL_EVENT, "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"),
        (MESSAGE_EVENT, "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"),
    ],
)
def test_content_hash_appendix_vectors(event: dict[str, Any], expected: str) -> None:
    assert content_hash(copy.deepcopy(event)) == expected


def test_content_hash_is_sha256_of_canonical_json_without_excluded_keys() -> None:
    event = {"type": "m.room.message", "content": {"body": "x"}, "depth": 1}
    expected = hashlib.sha256(canonical_json(event)).digest()
    with_extras = {
        **event,
        "unsigned": {"age": 1},
        "signatures": {"s": {"k": "v"}},
        "hashes": {"sha256": "old"},
    }
    assert content_hash(with_extras) == base64.b64encode(expected).decode().rstrip("=")


def test_content_hash_ignores_unsigned_signatures_and_hashes() -> None:
    base = copy.deepcopy(MINIMAL_EVENT)
    changed = copy.deepcopy(base)
    changed["unsigned"] = {"age_ts": 5, "transaction_id": "t"}
    changed["signatures"] = {"other": {"ed25519:x": "sig"}}
    changed["hashes"] = {"sha256": "whatever"}
    assert content_hash(changed) == content_hash(base)
    for key in ("unsigned", "signatures", "hashes"):
        del changed[key]
    assert content_hash(changed) == content_hash(base)


def test_content_hash_covers_content() -> None:
    changed = copy.deepcopy(MINIMAL_EVENT)
    changed["content"] = {"body": "x"}
    assert content_hash(changed) != content_hash(MINIMAL_EVENT)


def test_content_hash_does_not_mutate() -> None:
    event = copy.deepcopy(MINIMAL_EVENT)
    content_hash(event)
    assert event == MINIMAL_EVENT


# --- reference_hash_event_id ---------------------------------------------------------------------


def message_pdu(body: str = "hello", **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "auth_events": ["$a"],
        "content": {"msgtype": "m.text", "body": body},
        "depth": 4,
        "origin_server_ts": 1_700_000_000_000,
        "prev_events": ["$p"],
        "room_id": "!room:example.org",
        "sender": "@alice:example.org",
        "type": "m.room.message",
    }
    event.update(overrides)
    event["hashes"] = {"sha256": content_hash(event)}
    return event


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_event_id_format(version: str) -> None:
    event_id = reference_hash_event_id(redact(message_pdu(), version))
    assert re.fullmatch(r"\$[A-Za-z0-9_-]{43}", event_id)


def test_event_id_is_urlsafe_sha256_of_redacted_event_without_signatures() -> None:
    redacted = redact(message_pdu(), "11")
    digest = hashlib.sha256(canonical_json(redacted)).digest()
    expected = "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert reference_hash_event_id(redacted) == expected
    signed = {**redacted, "signatures": {"x": {"ed25519:a": "s"}}, "unsigned": {"age": 1}}
    assert reference_hash_event_id(signed) == expected


def test_event_id_covers_hashes() -> None:
    redacted = redact(message_pdu(), "11")
    other = {**redacted, "hashes": {"sha256": "different"}}
    assert reference_hash_event_id(other) != reference_hash_event_id(redacted)


def test_event_id_covers_content_through_the_content_hash() -> None:
    """Redaction drops a message's content, but `hashes` is preserved and covers it: two real
    PDUs that differ only in content get different IDs."""
    one, two = redact(message_pdu("one"), "11"), redact(message_pdu("two"), "11")
    assert one["content"] == two["content"] == {}
    assert reference_hash_event_id(one) != reference_hash_event_id(two)


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_event_id_stable_when_non_preserved_fields_change(version: str) -> None:
    event = message_pdu()
    event_id = reference_hash_event_id(redact(event, version))
    changed = copy.deepcopy(event)
    changed["content"]["body"] = "edited"  # not preserved (hashes left as they were)
    changed["unsigned"] = {"age": 10}
    changed["org.example.extra"] = 1
    assert reference_hash_event_id(redact(changed, version)) == event_id


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sender", "@bob:example.org"),
        ("room_id", "!other:example.org"),
        ("depth", 5),
        ("origin_server_ts", 1),
        ("prev_events", ["$q"]),
        ("auth_events", []),
        ("type", "m.room.topic"),
    ],
)
def test_event_id_changes_when_preserved_fields_change(key: str, value: object) -> None:
    event = message_pdu()
    changed = {**copy.deepcopy(event), key: value}
    assert reference_hash_event_id(redact(changed, "11")) != reference_hash_event_id(
        redact(event, "11")
    )


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_event_id_changes_when_preserved_content_changes(version: str) -> None:
    base = {
        "auth_events": [],
        "content": {"membership": "join", "displayname": "A"},
        "depth": 2,
        "origin_server_ts": 1,
        "prev_events": [],
        "room_id": "!r:example.org",
        "sender": "@a:example.org",
        "state_key": "@a:example.org",
        "type": "m.room.member",
        "hashes": {"sha256": "fixed"},
    }
    event_id = reference_hash_event_id(redact(base, version))
    left = copy.deepcopy(base)
    left["content"]["membership"] = "leave"
    assert reference_hash_event_id(redact(left, version)) != event_id
    renamed = copy.deepcopy(base)
    renamed["content"]["displayname"] = "B"
    assert reference_hash_event_id(redact(renamed, version)) == event_id


def test_v10_event_id_covers_origin_but_v11_does_not() -> None:
    event = message_pdu(origin="example.org")
    moved = {**copy.deepcopy(event), "origin": "elsewhere.org"}
    assert reference_hash_event_id(redact(event, "10")) != reference_hash_event_id(
        redact(moved, "10")
    )
    assert reference_hash_event_id(redact(event, "11")) == reference_hash_event_id(
        redact(moved, "11")
    )


# --- sign_redacted: appendix test vectors --------------------------------------------------------


def spec_key() -> Any:
    return decode_signing_key_base64("ed25519", "1", SPEC_SEED)


def test_sign_empty_object_appendix_vector() -> None:
    assert sign_redacted({}, "domain", spec_key()) == {
        "domain": {
            "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtT"
            "dGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
        }
    }


def test_sign_object_appendix_vector() -> None:
    assert sign_redacted({"one": 1, "two": "Two"}, "domain", spec_key()) == {
        "domain": {
            "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL"
            "53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
        }
    }


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            MINIMAL_EVENT,
            "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg",
        ),
        (
            MESSAGE_EVENT,
            "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA",
        ),
    ],
)
def test_event_signing_appendix_vectors(event: dict[str, Any], expected: str) -> None:
    """The appendix vectors predate v11 redaction (they keep `origin`), so redact as v10."""
    pdu = copy.deepcopy(event)
    pdu["hashes"] = {"sha256": content_hash(pdu)}
    redacted = redact(pdu, "10")
    assert sign_redacted(redacted, "domain", spec_key()) == {"domain": {"ed25519:1": expected}}


def test_sign_redacted_keeps_existing_signatures_of_other_servers() -> None:
    other = {"other.org": {"ed25519:x": "sig"}}
    signatures = sign_redacted({"a": 1, "signatures": copy.deepcopy(other)}, "domain", spec_key())
    assert signatures["other.org"] == other["other.org"]
    assert set(signatures["domain"]) == {"ed25519:1"}


def test_sign_redacted_does_not_mutate_top_level_of_input() -> None:
    event = {"one": 1, "two": "Two"}
    sign_redacted(event, "domain", spec_key())
    assert event == {"one": 1, "two": "Two"}


def test_sign_redacted_does_not_mutate_nested_signatures() -> None:
    event = {"one": 1, "signatures": {}}
    sign_redacted(event, "domain", spec_key())
    assert event == {"one": 1, "signatures": {}}
