"""The rules of extended profile fields (spec v1.16, client-server-api#profiles): which names a
field may have, which values the named ones take, and the 64 KiB bound on a whole profile.

A profile is the display name, the avatar and any other fields: `m.tz` (the user's time zone)
and custom keys in the Common Namespaced Identifier Grammar (`org.example.job_title`). Custom
values may be any JSON, `null` included (stored, not a deletion: the spec's SHOULD); the
server does not interpret them. Kept apart from profile.py so the rules read in one place and
the service stays about who may change what.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bastion.errors import Errcode, MatrixError

DISPLAYNAME, AVATAR_URL, TIME_ZONE = "displayname", "avatar_url", "m.tz"
MAX_NAME_BYTES = 255  # spec: M_KEY_TOO_LARGE past this
MAX_PROFILE_BYTES = 64 * 1024  # spec: "the total profile MUST be under 64 KiB"
MAX_TIME_ZONE_LENGTH = 255

# The spec's pattern of `keyName`: the three defined fields or a namespaced identifier.
_NAME = re.compile(r"(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)")


def check_field_name(name: str) -> None:
    """400 M_KEY_TOO_LARGE past 255 bytes, 400 M_INVALID_PARAM outside the spec's grammar."""
    if len(name.encode()) > MAX_NAME_BYTES:
        raise MatrixError(400, Errcode.KEY_TOO_LARGE, "A profile field name is at most 255 bytes")
    if _NAME.fullmatch(name) is None:
        raise MatrixError(
            400,
            Errcode.INVALID_PARAM,
            f"{name!r} is not a profile field name: displayname, avatar_url, m.tz or a"
            " namespaced identifier such as org.example.field",
        )


def check_time_zone(value: object) -> str:
    """`m.tz` is a string (an IANA time zone name, which clients must expect to be invalid, so
    it is not looked up here)."""
    if not isinstance(value, str):
        raise MatrixError(400, Errcode.BAD_JSON, "m.tz must be a string")
    if not value or len(value) > MAX_TIME_ZONE_LENGTH:
        raise MatrixError(400, Errcode.INVALID_PARAM, "m.tz must be a time zone name")
    return value


def encoded_value(value: Any) -> str:
    """A field's value as stored: compact JSON (refuses what JSON cannot hold)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as e:  # NaN or infinity cannot have come from a JSON body
        raise MatrixError(400, Errcode.BAD_JSON, "The value is not JSON") from e


def check_profile_size(profile: dict[str, Any]) -> None:
    """400 M_PROFILE_TOO_LARGE unless the whole profile, as canonical JSON, is under 64 KiB."""
    size = len(
        json.dumps(profile, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    )
    if size >= MAX_PROFILE_BYTES:
        raise MatrixError(
            400, Errcode.PROFILE_TOO_LARGE, "The profile would be larger than its 64 KiB limit"
        )
