"""Matrix identifiers: parsing and validation, no I/O.

spec: appendices#identifier-grammar. User localparts we create are the "historical-free" grammar
(`a-z 0-9 . _ = - /` and `+`); we accept the wider historical grammar when parsing IDs clients send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from typing_extensions import override

from bastion.errors import Errcode, MatrixError

_NEW_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_HISTORICAL_LOCALPART = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_SERVER_NAME = re.compile(r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.\-]{1,255})(?::[0-9]{1,5})?")
_DEVICE_ID = re.compile(r"[\x21-\x7e]{1,255}")

MAX_USER_ID_LENGTH = 255
MAX_ROOM_ID_LENGTH = 255  # spec: identifier grammar


def is_valid_server_name(name: str) -> bool:
    """True if `name` is a hostname, IPv4 or bracketed IPv6 literal, with optional port."""
    return bool(_SERVER_NAME.fullmatch(name))


def validate_new_localpart(
    localpart: str, server_name: str, *, for_appservice: bool = False
) -> None:
    """Refuse a localpart we should not register, with the spec's M_INVALID_USERNAME. A
    leading '_' is kept for application services (the spec's advice for their exclusive
    namespaces), which alone may register one."""
    if not localpart:
        raise MatrixError(400, Errcode.INVALID_USERNAME, "username must not be empty")
    if not _NEW_LOCALPART.fullmatch(localpart):
        raise MatrixError(
            400,
            Errcode.INVALID_USERNAME,
            f"username {localpart!r} may only contain a-z, 0-9, '.', '_', '=', '-', '/' and '+'",
        )
    if localpart.startswith("_") and not for_appservice:
        raise MatrixError(400, Errcode.INVALID_USERNAME, "usernames starting with '_' are reserved")
    if len(f"@{localpart}:{server_name}") > MAX_USER_ID_LENGTH:
        raise MatrixError(400, Errcode.INVALID_USERNAME, "username is too long")


def is_valid_user_id(value: object) -> bool:
    """True for a well-formed user ID (historical localpart grammar, valid server name)."""
    if not isinstance(value, str) or len(value) > MAX_USER_ID_LENGTH or not value.startswith("@"):
        return False
    localpart, _, server = value[1:].partition(":")
    return bool(_HISTORICAL_LOCALPART.fullmatch(localpart)) and is_valid_server_name(server)


def is_valid_room_id(value: str) -> bool:
    """True for a room ID's shape: `!`, then printable characters without spaces, at most 255 in
    all (v12 IDs have no server part; the room need not be known here)."""
    return (
        value.startswith("!")
        and 1 < len(value) <= MAX_ROOM_ID_LENGTH
        and value.isprintable()
        and " " not in value
    )


def is_valid_device_id(device_id: str) -> bool:
    """True for a printable-ASCII device ID of sane length."""
    return bool(_DEVICE_ID.fullmatch(device_id))


@dataclass(frozen=True, slots=True)
class UserID:
    """`@localpart:server_name`."""

    localpart: str
    server_name: str

    @classmethod
    def parse(cls, raw: str) -> UserID:
        """Parse a full user ID, raising M_INVALID_PARAM when it is not one."""
        if not is_valid_user_id(raw):
            raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid user ID {raw!r}")
        localpart, _, server = raw[1:].partition(":")
        return cls(localpart, server)

    @override
    def __str__(self) -> str:
        return f"@{self.localpart}:{self.server_name}"
