"""Stream tokens as clients see them: `s<position>`, optionally followed by `_<part>` fields.

One token format serves /sync (`next_batch`, `since`) and pagination (`prev_batch`, `start`,
`end`, `from`, `to`). The position means "after the event at this position": paginating
backwards from it returns events at or before it, forwards returns events after it. Later streams
that are not ordered by the shared position (typing, presence) add `_`-separated fields that
older parsers ignore.
"""

from __future__ import annotations

import re

from bastion.errors import Errcode, MatrixError

_TOKEN = re.compile(r"s(\d{1,18})(?:_[0-9a-z_]*)?")
_TO_DEVICE_PART = re.compile(r"_t(\d{1,18})")
_TYPING_PART = re.compile(r"_k(\d{1,18})")


def format_token(position: int) -> str:
    """The token for a stream position."""
    return f"s{max(0, position)}"


def format_sync_token(position: int, to_device: int, typing: int = 0) -> str:
    """A /sync token: the to-device part only when it lags the stream position, the typing
    serial only once there is one."""
    token = format_token(position)
    if to_device < position:
        token += f"_t{to_device}"
    return f"{token}_k{typing}" if typing else token


def parse_sync_token(raw: str) -> tuple[int, int, int]:
    """(stream position, to-device position, typing serial) of a /sync `since` token."""
    position = parse_token(raw, name="since")
    to_device = _TO_DEVICE_PART.search(raw)
    typing = _TYPING_PART.search(raw)
    return position, int(to_device[1]) if to_device else position, int(typing[1]) if typing else 0


def parse_token(raw: str, *, name: str = "token") -> int:
    """The stream position in a token; 400 M_INVALID_PARAM when it is not one of ours."""
    match = _TOKEN.fullmatch(raw)
    if match is None:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid {name} {raw!r}")
    return int(match[1])
