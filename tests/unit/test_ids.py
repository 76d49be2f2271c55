"""Matrix identifier grammar (spec: appendices#identifier-grammar)."""

from __future__ import annotations

import pytest

from bastion.errors import Errcode, MatrixError
from bastion.ids import (
    MAX_USER_ID_LENGTH,
    UserID,
    is_valid_device_id,
    is_valid_server_name,
    validate_new_localpart,
)

SERVER = "example.org"


@pytest.mark.parametrize(
    ("raw", "localpart", "server_name"),
    [
        ("@alice:example.org", "alice", "example.org"),
        ("@a.b_c=d-e/f+g:example.org", "a.b_c=d-e/f+g", "example.org"),
        ("@Alice:example.org", "Alice", "example.org"),  # historical grammar is accepted
        ("@alice:example.org:8448", "alice", "example.org:8448"),
        ("@alice:1.2.3.4", "alice", "1.2.3.4"),
        ("@alice:[::1]", "alice", "[::1]"),
        ("@alice:[2001:db8::1]:8448", "alice", "[2001:db8::1]:8448"),
    ],
)
def test_parse_valid_user_ids(raw: str, localpart: str, server_name: str) -> None:
    user = UserID.parse(raw)
    assert (user.localpart, user.server_name) == (localpart, server_name)
    assert str(user) == raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("alice:example.org", id="missing-sigil"),
        pytest.param("#alice:example.org", id="room-alias-sigil"),
        pytest.param("@alice", id="missing-colon"),
        pytest.param("@:example.org", id="empty-localpart"),
        pytest.param("@alice:", id="empty-server"),
        pytest.param("@alice:exa mple.org", id="space-in-server"),
        pytest.param("@alice:exa_mple.org", id="underscore-in-server"),
        pytest.param("@alice:example.org:", id="empty-port"),
        pytest.param("@alice:example.org:123456", id="port-too-long"),
        pytest.param("@alice:example.org:http", id="non-numeric-port"),
        pytest.param("@alice:[::1", id="unclosed-ipv6"),
        pytest.param("@al ice:example.org", id="space-in-localpart"),
        pytest.param("@alicé:example.org", id="non-ascii-localpart"),
        pytest.param("", id="empty"),
        pytest.param(
            "@" + "a" * (MAX_USER_ID_LENGTH - len(":example.org")) + ":example.org", id="too-long"
        ),
    ],
)
def test_parse_invalid_user_ids(raw: str) -> None:
    with pytest.raises(MatrixError) as exc:
        UserID.parse(raw)
    assert exc.value.status == 400
    assert exc.value.errcode == Errcode.INVALID_PARAM


def test_parse_accepts_exactly_the_maximum_length() -> None:
    raw = "@" + "a" * (MAX_USER_ID_LENGTH - 1 - len(":example.org")) + ":example.org"
    assert len(raw) == MAX_USER_ID_LENGTH
    assert UserID.parse(raw).server_name == "example.org"


@pytest.mark.parametrize("localpart", ["alice", "a", "bob.smith", "x_y=z-w/v+u", "0042", "a_"])
def test_new_localpart_accepted(localpart: str) -> None:
    validate_new_localpart(localpart, SERVER)


@pytest.mark.parametrize(
    "localpart",
    [
        pytest.param("Alice", id="uppercase"),
        pytest.param("al ice", id="space"),
        pytest.param("", id="empty"),
        pytest.param("_bridge", id="leading-underscore"),
        pytest.param("_", id="only-underscore"),
        pytest.param("a:b", id="colon"),
        pytest.param("al@ice", id="at-sign"),
        pytest.param("alicé", id="non-ascii"),
        pytest.param("a" * (MAX_USER_ID_LENGTH - len(f"@:{SERVER}") + 1), id="too-long"),
    ],
)
def test_new_localpart_rejected(localpart: str) -> None:
    with pytest.raises(MatrixError) as exc:
        validate_new_localpart(localpart, SERVER)
    assert exc.value.status == 400
    assert exc.value.errcode == Errcode.INVALID_USERNAME


def test_new_localpart_length_counts_the_whole_user_id() -> None:
    longest = "a" * (MAX_USER_ID_LENGTH - len(f"@:{SERVER}"))
    validate_new_localpart(longest, SERVER)
    with pytest.raises(MatrixError):
        validate_new_localpart(longest, SERVER + "x")  # same localpart, longer server name


@pytest.mark.parametrize(
    "name",
    [
        "example.org",
        "localhost",
        "matrix.example.org:8448",
        "localhost:1",
        "1.2.3.4",
        "1.2.3.4:443",
        "[::1]",
        "[::1]:8448",
        "[2001:db8::1]",
        "[2001:db8:0:0:0:0:2:1]:443",
        "[::ffff:1.2.3.4]",
        "xn--bcher-kva.example",
    ],
)
def test_valid_server_names(name: str) -> None:
    assert is_valid_server_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "exa mple.org",
        "exa_mple.org",
        "example.org:",
        "example.org:123456",
        "example.org:port",
        ":8448",
        "::1",  # IPv6 literals must be bracketed
        "[::1",
        "::1]",
        "[::1]:",
        "[not-hex]",
        "bücher.example",
        "example.org/path",
        "a" * 256,
    ],
)
def test_invalid_server_names(name: str) -> None:
    assert not is_valid_server_name(name)


def test_device_ids() -> None:
    assert is_valid_device_id("ABCDEFGHIJ")
    assert not is_valid_device_id("")
    assert not is_valid_device_id("with space")
    assert not is_valid_device_id("x" * 256)
