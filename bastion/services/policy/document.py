"""The organisation policy document: its shape, its validation, and the diff of two versions.

One JSON object, validated strictly (an unknown section or field is a 400 naming it, so a typo
never silently disables a rule). Sections:

- `rooms`: `max_admins` (null = no limit), `creation` (`everyone` | `admins` |
  `group:<scim group id>`), `encryption` (`allowed` | `required` | `forbidden`),
  `fallback_admin` (the user promoted where an offboarded user was the last admin),
  `moderator` (the server moderation account: given power in every new room);
- `acceptable_use`: text by language (`en`, `ar`, `pl`), sent to every new account as a server
  notice.

- `retention`: how long room events are kept (`RetentionPolicy`).

- `dlp`: data-leak prevention policies (shape and save-time checks: `dlp_section.py`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.services.policy.dlp_section import DlpSection, check_dlp

_USER_ID = re.compile(r"^@[^:\s]+:\S+$")
_CREATION = re.compile(r"^(everyone|admins|group:\S+)$")


class RoomsPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=False):
    """Rules for the organisation's rooms."""

    max_admins: int | None = None
    creation: str = "everyone"
    encryption: Literal["allowed", "required", "forbidden"] = "allowed"
    fallback_admin: str | None = None
    moderator: str | None = None


class AcceptableUse(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The acceptable-use text, by language."""

    en: str | None = None
    ar: str | None = None
    pl: str | None = None


class RetentionPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long room events are kept (MSC1763 semantics; services/retention/policy.py).

    A room's `m.room.retention` `max_lifetime` applies, clamped to the allowed range; without
    one, `default_max_lifetime_ms` (null: keep forever). Redacted events' original content is
    pruned `redacted_content_days` after the redaction unless a legal hold covers it."""

    default_max_lifetime_ms: int | None = None
    allowed_min_lifetime_ms: int | None = None
    allowed_max_lifetime_ms: int | None = None
    purge_interval_s: int = 3600
    redacted_content_days: int = 7


class PolicyDocument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole policy document."""

    rooms: RoomsPolicy = RoomsPolicy()
    acceptable_use: AcceptableUse = AcceptableUse()
    retention: RetentionPolicy = RetentionPolicy()
    dlp: DlpSection = DlpSection()


def parse_policy(raw: object) -> PolicyDocument:
    """Validate a policy document (from the admin API or the config): 400 naming the problem."""
    if not isinstance(raw, dict):
        raise MatrixError(400, Errcode.BAD_JSON, "The policy must be a JSON object")
    try:
        document = msgspec.convert(raw, PolicyDocument)
    except msgspec.ValidationError as exc:
        raise MatrixError(400, Errcode.BAD_JSON, f"Invalid policy: {exc}") from None
    rooms = document.rooms
    if rooms.max_admins is not None and rooms.max_admins < 1:
        raise MatrixError(400, Errcode.INVALID_PARAM, "rooms.max_admins must be at least 1")
    if not _CREATION.match(rooms.creation):
        raise MatrixError(
            400,
            Errcode.INVALID_PARAM,
            "rooms.creation must be 'everyone', 'admins' or 'group:<group id>'",
        )
    for name, value in (("fallback_admin", rooms.fallback_admin), ("moderator", rooms.moderator)):
        if value is not None and not _USER_ID.match(value):
            raise MatrixError(400, Errcode.INVALID_PARAM, f"rooms.{name} must be a user ID")
    _check_retention(document.retention)
    check_dlp(document.dlp)
    return document


def _check_retention(retention: RetentionPolicy) -> None:
    for name in ("default_max_lifetime_ms", "allowed_min_lifetime_ms", "allowed_max_lifetime_ms"):
        value = getattr(retention, name)
        if value is not None and value < 1:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"retention.{name} must be positive")
    low, high = retention.allowed_min_lifetime_ms, retention.allowed_max_lifetime_ms
    if low is not None and high is not None and low > high:
        raise MatrixError(
            400,
            Errcode.INVALID_PARAM,
            "retention.allowed_min_lifetime_ms must not exceed allowed_max_lifetime_ms",
        )
    if retention.purge_interval_s < 1:
        raise MatrixError(400, Errcode.INVALID_PARAM, "retention.purge_interval_s must be >= 1")
    if retention.redacted_content_days < 0:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, "retention.redacted_content_days must not be negative"
        )


def policy_json(document: PolicyDocument) -> dict[str, Any]:
    """The document as JSON, every field present."""
    encoded: dict[str, Any] = msgspec.to_builtins(document)
    return encoded


def diff(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """What changed, by dotted path: `{"rooms.max_admins": {"from": 3, "to": 2}}`."""
    changes: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.update(diff(old, new, path + "."))
        elif old != new:
            changes[path] = {"from": old, "to": new}
    return changes
