"""The one error type that crosses layers, and the Matrix error codes it carries.

Services raise `MatrixError`; the HTTP layer turns it into the spec's JSON error body
(`{"errcode": ..., "error": ...}`) with its status. Nothing else should build error bodies.
"""

from __future__ import annotations

from enum import StrEnum

from typing_extensions import override


class Errcode(StrEnum):
    """Error codes as the Matrix Client-Server API spells them."""

    FORBIDDEN = "M_FORBIDDEN"
    UNKNOWN_TOKEN = "M_UNKNOWN_TOKEN"
    MISSING_TOKEN = "M_MISSING_TOKEN"
    USER_DEACTIVATED = "M_USER_DEACTIVATED"
    USER_LOCKED = "M_USER_LOCKED"
    USER_SUSPENDED = "M_USER_SUSPENDED"
    BAD_JSON = "M_BAD_JSON"
    NOT_JSON = "M_NOT_JSON"
    NOT_FOUND = "M_NOT_FOUND"
    LIMIT_EXCEEDED = "M_LIMIT_EXCEEDED"
    UNRECOGNIZED = "M_UNRECOGNIZED"
    UNKNOWN_POS = "M_UNKNOWN_POS"  # sliding sync (MSC4186): the client starts a new connection
    UNKNOWN = "M_UNKNOWN"
    USER_IN_USE = "M_USER_IN_USE"
    INVALID_USERNAME = "M_INVALID_USERNAME"
    INVALID_PARAM = "M_INVALID_PARAM"
    MISSING_PARAM = "M_MISSING_PARAM"
    TOO_LARGE = "M_TOO_LARGE"
    PROFILE_TOO_LARGE = "M_PROFILE_TOO_LARGE"  # spec v1.16: a profile past 64 KiB
    KEY_TOO_LARGE = "M_KEY_TOO_LARGE"  # spec v1.16: a profile field name past 255 bytes
    INVITE_BLOCKED = "M_INVITE_BLOCKED"  # spec v1.18: the invitee blocks invites
    WEAK_PASSWORD = "M_WEAK_PASSWORD"
    EXCLUSIVE = "M_EXCLUSIVE"
    UNKNOWN_DEVICE = "M_UNKNOWN_DEVICE"
    # application services (spec: application-service-api): ping results, and a login type
    # that needs the legacy authentication API
    URL_NOT_SET = "M_URL_NOT_SET"
    CONNECTION_FAILED = "M_CONNECTION_FAILED"
    CONNECTION_TIMEOUT = "M_CONNECTION_TIMEOUT"
    BAD_STATUS = "M_BAD_STATUS"
    THREEPID_DENIED = "M_THREEPID_DENIED"
    UNSUPPORTED_ROOM_VERSION = "M_UNSUPPORTED_ROOM_VERSION"
    ROOM_IN_USE = "M_ROOM_IN_USE"
    INVALID_ROOM_STATE = "M_INVALID_ROOM_STATE"
    BAD_STATE = "M_BAD_STATE"  # the change cannot be made now (a room being upgraded already)
    INVALID_SIGNATURE = "M_INVALID_SIGNATURE"
    WRONG_ROOM_KEYS_VERSION = "M_WRONG_ROOM_KEYS_VERSION"
    CANNOT_OVERWRITE_MEDIA = "M_CANNOT_OVERWRITE_MEDIA"
    NOT_YET_UPLOADED = "M_NOT_YET_UPLOADED"
    DUPLICATE_ANNOTATION = "M_DUPLICATE_ANNOTATION"
    CANNOT_LEAVE_SERVER_NOTICE_ROOM = "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM"
    # Bastion's own, for its admin API (namespaced as the spec asks of non-spec codes):
    STALE_VERSION = "ORG.BASTION.STALE_VERSION"  # 409: the document changed since it was read


class MatrixError(Exception):
    """A failure the client should see, with its HTTP status and Matrix errcode.

    `extra` carries the additional top-level fields some errors need
    (`retry_after_ms` for rate limits, the UIA flows for a 401 during User-Interactive Auth).
    """

    def __init__(
        self,
        status: int,
        errcode: Errcode,
        message: str,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode
        self.message = message
        self.extra = extra or {}

    def body(self) -> dict[str, object]:
        """The JSON error body the spec asks for."""
        return {**self.extra, "errcode": str(self.errcode), "error": self.message}

    @override
    def __repr__(self) -> str:
        return f"MatrixError({self.status}, {self.errcode}, {self.message!r})"
