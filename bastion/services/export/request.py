"""What an export is asked for: the request body of both admin routes and the CLI, checked.

`ExportRequest` is the interface of issue #13: `{"rooms", "users", "from_ts", "to_ts",
"format": "jsonl"|"csv"|"eml", "include_media"}`. Every non-empty list narrows the selection
(rooms: events in those rooms; users: events those users sent, in any room, including rooms
they left); the time range is `from_ts <= origin_server_ts < to_ts`. A subject-access export
(`kind` SUBJECT) selects the events its one user sent, whatever the body's `users` says.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.ids import UserID
from bastion.store.protocols.exports import EventFilter

CONVERSATIONS = "conversations"
SUBJECT = "subject"
MAX_LISTED = 1000  # rooms or users named in one request (each is a SQL parameter)

Format = Literal["jsonl", "csv", "eml"]


class ExportRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An export's selection and output (stored with the job as JSON)."""

    rooms: list[str] = msgspec.field(default_factory=list)
    users: list[str] = msgspec.field(default_factory=list)
    from_ts: int | None = None
    to_ts: int | None = None
    format: Format = "jsonl"
    include_media: bool = False


class ExportOptions(msgspec.Struct, frozen=True, kw_only=True):
    """A job's kind, its request and (for SUBJECT) the data subject."""

    kind: str
    request: ExportRequest
    subject: str | None = None

    def selection(self) -> EventFilter:
        """The events this export covers."""
        senders = [self.subject] if self.subject is not None else self.request.users
        return EventFilter(
            rooms=tuple(self.request.rooms), senders=tuple(senders),
            from_ts=self.request.from_ts, to_ts=self.request.to_ts,
        )  # fmt: skip


def checked(request: ExportRequest) -> ExportRequest:
    """`request` if it makes sense, else 400 M_INVALID_PARAM naming the offending value."""
    if len(request.rooms) > MAX_LISTED or len(request.users) > MAX_LISTED:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"name at most {MAX_LISTED} rooms/users")
    for room_id in request.rooms:
        if not room_id.startswith("!") or len(room_id) > 255:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"not a room ID: {room_id!r}")
    for user_id in request.users:
        try:
            UserID.parse(user_id)
        except MatrixError:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"not a user ID: {user_id!r}") from None
    for name, value in (("from_ts", request.from_ts), ("to_ts", request.to_ts)):
        if value is not None and value < 0:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"{name} must not be negative")
    start, end = request.from_ts, request.to_ts
    if start is not None and end is not None and end <= start:
        raise MatrixError(400, Errcode.INVALID_PARAM, "to_ts must be after from_ts")
    return request


def encode_options(options: ExportOptions) -> str:
    """The JSON stored in the job's row."""
    return msgspec.json.encode(options).decode()


def decode_options(raw: str) -> ExportOptions:
    """A stored job's options."""
    return msgspec.json.decode(raw, type=ExportOptions)
